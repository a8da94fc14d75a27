package fedavg

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/offheap"
)

// Pool hands out at most K staging buffers of n elements, so that memory
// stays at K updates (plus the sum) however many participants submit at
// once. Buffers are allocated on first use, outside the Go heap
// (internal/offheap), and zeroed when returned; Release unmaps them when
// the round's collection ends (a buffer still handed out is unmapped when
// it is returned). A buffer must not be used after Put. It is safe for
// concurrent use.
type Pool[T float32 | uint32 | uint64] struct {
	n        int
	free     chan []T      // K slots; nil until a buffer is first allocated
	released chan struct{} // closed by Release

	mu      sync.Mutex
	out     map[*T]int    // buffers handed out and not yet returned
	dropped bool          // Release was called
	drained chan struct{} // closed once released and every buffer is back
}

// BufferPool is the pool of float32 staging buffers.
type BufferPool = Pool[float32]

// ErrReleased is returned by Get once the pool is released.
var ErrReleased = errors.New("fedavg: buffer pool: released (the round no longer collects updates)")

// NewBufferPool returns a pool of k ≥ 1 buffers of spec.NumParams() values.
func NewBufferPool(spec model.Spec, k int) (*BufferPool, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fedavg: buffer pool: %w", err)
	}
	return NewPool[float32](spec.NumParams(), k)
}

// NewPool returns a pool of k ≥ 1 buffers of n ≥ 0 elements.
func NewPool[T float32 | uint32 | uint64](n, k int) (*Pool[T], error) {
	if k < 1 {
		return nil, fmt.Errorf("fedavg: buffer pool: k = %d, want at least 1", k)
	}
	if n < 0 {
		return nil, fmt.Errorf("fedavg: buffer pool: n = %d, want at least 0", n)
	}
	p := &Pool[T]{n: n, free: make(chan []T, k), released: make(chan struct{}), out: map[*T]int{}, drained: make(chan struct{})}
	for range k {
		p.free <- nil
	}
	return p, nil
}

// Get returns a free buffer, blocking until one is returned with Put, ctx
// ends (then it returns ctx's error) or the pool is released (ErrReleased).
func (p *Pool[T]) Get(ctx context.Context) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fedavg: buffer pool: %w", err)
	}
	select {
	case <-p.released:
		return nil, ErrReleased
	default:
	}
	select {
	case buf := <-p.free:
		if buf == nil {
			var err error
			if buf, err = offheap.Make[T](p.n); err != nil {
				p.free <- nil // the slot stays free
				return nil, fmt.Errorf("fedavg: buffer pool: %w", err)
			}
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.track(buf, true) { // released meanwhile
			_ = offheap.Free(buf)
			return nil, ErrReleased
		}
		return buf, nil
	case <-p.released:
		return nil, ErrReleased
	case <-ctx.Done():
		return nil, fmt.Errorf("fedavg: buffer pool: %w", ctx.Err())
	}
}

// Put zeroes buf and returns it to the pool (or drops it, once the pool is
// released). buf must have come from Get on this pool and not have been
// returned since.
func (p *Pool[T]) Put(buf []T) error {
	if len(buf) != p.n {
		return fmt.Errorf("fedavg: buffer pool: put a buffer of %d values, want %d", len(buf), p.n)
	}
	clear(buf)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.track(buf, false) {
		return errors.New("fedavg: buffer pool: put a buffer not handed out by this pool (or put twice)")
	}
	if p.dropped {
		p.checkDrained()
		return offheap.Free(buf)
	}
	p.free <- buf // never blocks: at most K buffers are ever handed out
	return nil
}

// Release ends the pool: the idle buffers are unmapped, Get fails with
// ErrReleased, and buffers still handed out are unmapped when they are Put.
// Release may be called more than once.
func (p *Pool[T]) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped {
		return
	}
	p.dropped = true
	close(p.released)
	for len(p.free) > 0 {
		_ = offheap.Free(<-p.free) // nil for slots never used
	}
	p.checkDrained()
}

// track records buf as handed out (get) or returned, p.mu held; it reports
// whether a return was of a buffer handed out, or whether a buffer may be
// handed out (not after Release). Empty buffers (n = 0) have no identity,
// so they are counted instead.
func (p *Pool[T]) track(buf []T, get bool) bool {
	key := (*T)(nil)
	if len(buf) > 0 {
		key = &buf[0]
	}
	if get {
		if p.dropped {
			return false
		}
		p.out[key]++
		return true
	}
	if p.out[key] == 0 {
		return false
	}
	if p.out[key]--; p.out[key] == 0 {
		delete(p.out, key)
	}
	return true
}

// checkDrained closes drained once the pool is released and no buffer is
// handed out; p.mu is held.
func (p *Pool[T]) checkDrained() {
	if p.dropped && len(p.out) == 0 {
		select {
		case <-p.drained:
		default:
			close(p.drained)
		}
	}
}

// Drained waits until the pool is released and every buffer handed out has
// been Put (so that none is in use any more), or ctx ends.
func (p *Pool[T]) Drained(ctx context.Context) error {
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		n := len(p.out)
		p.mu.Unlock()
		return fmt.Errorf("fedavg: buffer pool: %d buffer(s) still in use: %w", n, ctx.Err())
	}
}
