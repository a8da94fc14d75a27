package fedavg

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/confed/confed/internal/model"
)

// BufferPool hands out at most K model-sized []float32 staging buffers, so
// that memory stays at K models (plus the accumulator) however many
// participants submit at once. Buffers are allocated on first use and zeroed
// when returned. It is safe for concurrent use.
type BufferPool struct {
	n    int
	free chan []float32 // K slots; nil until a buffer is first allocated

	mu  sync.Mutex
	out map[*float32]int // buffers handed out and not yet returned
}

// NewBufferPool returns a pool of k ≥ 1 buffers of spec.NumParams() values.
func NewBufferPool(spec model.Spec, k int) (*BufferPool, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fedavg: buffer pool: %w", err)
	}
	if k < 1 {
		return nil, fmt.Errorf("fedavg: buffer pool: k = %d, want at least 1", k)
	}
	p := &BufferPool{n: spec.NumParams(), free: make(chan []float32, k), out: map[*float32]int{}}
	for range k {
		p.free <- nil
	}
	return p, nil
}

// Get returns a free buffer, blocking until one is returned with Put or ctx
// ends (then it returns ctx's error).
func (p *BufferPool) Get(ctx context.Context) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fedavg: buffer pool: %w", err)
	}
	select {
	case buf := <-p.free:
		if buf == nil {
			buf = make([]float32, p.n)
		}
		p.track(buf, true)
		return buf, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("fedavg: buffer pool: %w", ctx.Err())
	}
}

// Put zeroes buf and returns it to the pool. buf must have come from Get on
// this pool and not have been returned since.
func (p *BufferPool) Put(buf []float32) error {
	if len(buf) != p.n {
		return fmt.Errorf("fedavg: buffer pool: put a buffer of %d values, want %d", len(buf), p.n)
	}
	if !p.track(buf, false) {
		return errors.New("fedavg: buffer pool: put a buffer not handed out by this pool (or put twice)")
	}
	clear(buf)
	p.free <- buf // never blocks: at most K buffers are ever handed out
	return nil
}

// track records buf as handed out (get) or returned; it reports whether a
// return was of a buffer handed out. Empty buffers (an empty spec) have no
// identity, so they are counted instead.
func (p *BufferPool) track(buf []float32, get bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := (*float32)(nil)
	if len(buf) > 0 {
		key = &buf[0]
	}
	if get {
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
