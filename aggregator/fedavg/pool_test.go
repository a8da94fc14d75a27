package fedavg

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/offheap"
)

func TestBufferPoolBoundsBuffers(t *testing.T) {
	p, err := NewBufferPool(testSpec, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := p.Get(ctx)
	b, err := p.Get(ctx)
	if err != nil || len(a) != 7 || len(b) != 7 || &a[0] == &b[0] {
		t.Fatalf("Get() = %d and %d values, %v; want two distinct 7-value buffers", len(a), len(b), err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Get() = %v, want it to block until the deadline", err)
	}
	a[3] = 42
	if err := p.Put(a); err != nil {
		t.Fatal(err)
	}
	c, err := p.Get(ctx)
	if err != nil || &c[0] != &a[0] || c[3] != 0 {
		t.Fatalf("Get() after Put = %v; want the returned buffer, zeroed", err)
	}
}

func TestBufferPoolGetWaitsForPut(t *testing.T) {
	p, _ := NewBufferPool(testSpec, 1)
	a, _ := p.Get(context.Background())
	got := make(chan []float32)
	go func() {
		b, _ := p.Get(context.Background())
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("Get returned while the only buffer was out")
	case <-time.After(10 * time.Millisecond):
	}
	if err := p.Put(a); err != nil {
		t.Fatal(err)
	}
	if b := <-got; &b[0] != &a[0] {
		t.Fatal("waiting Get did not receive the returned buffer")
	}
}

func TestBufferPoolRejectsBadPut(t *testing.T) {
	p, _ := NewBufferPool(testSpec, 2)
	a, _ := p.Get(context.Background())
	if err := p.Put(make([]float32, 7)); err == nil {
		t.Fatal("Put(foreign buffer) succeeded")
	}
	if err := p.Put(make([]float32, 3)); err == nil {
		t.Fatal("Put(wrong length) succeeded")
	}
	if err := p.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(a); err == nil {
		t.Fatal("second Put of the same buffer succeeded")
	}
}

func TestBufferPoolRejectsBadConfig(t *testing.T) {
	if _, err := NewBufferPool(testSpec, 0); err == nil {
		t.Fatal("NewBufferPool(k = 0) succeeded")
	}
	if _, err := NewBufferPool(model.Spec{{Name: ""}}, 1); err == nil {
		t.Fatal("NewBufferPool(invalid spec) succeeded")
	}
	p, _ := NewBufferPool(testSpec, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get(cancelled) = %v", err)
	}
}

func TestBufferPoolConcurrent(t *testing.T) {
	const k = 3
	p, _ := NewBufferPool(testSpec, k)
	var out, peak atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			buf, err := p.Get(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := out.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			out.Add(-1)
			if err := p.Put(buf); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak.Load() > k {
		t.Fatalf("%d buffers out at once, pool size %d", peak.Load(), k)
	}
}

func TestBufferPoolEmptySpec(t *testing.T) {
	p, _ := NewBufferPool(model.Spec{}, 2)
	a, _ := p.Get(context.Background())
	b, _ := p.Get(context.Background())
	if p.Put(a) != nil || p.Put(b) != nil {
		t.Fatal("Put of empty buffers failed")
	}
	if p.Put(a) == nil {
		t.Fatal("third Put of an empty buffer succeeded")
	}
}

// TestPoolRelease: after Release, a blocked Get and later Gets fail with
// ErrReleased, idle buffers are dropped, and a buffer still handed out can
// be Put (and is dropped).
func TestPoolRelease(t *testing.T) {
	p, err := NewPool[uint32](5, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	held, err := p.Get(ctx)
	if err != nil || len(held) != 5 {
		t.Fatalf("Get() = %d values, %v", len(held), err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := p.Get(ctx)
		blocked <- err
	}()
	p.Release()
	if err := <-blocked; !errors.Is(err, ErrReleased) {
		t.Fatalf("blocked Get after Release: %v, want ErrReleased", err)
	}
	if _, err := p.Get(ctx); !errors.Is(err, ErrReleased) {
		t.Fatalf("Get after Release: %v, want ErrReleased", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := p.Drained(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drained with a buffer in use: %v, want the deadline", err)
	}
	if err := p.Put(held); err != nil {
		t.Fatalf("Put of a held buffer after Release: %v", err)
	}
	if err := p.Drained(ctx); err != nil {
		t.Fatalf("Drained once every buffer is back: %v", err)
	}
	if err := p.Put(held); err == nil {
		t.Fatal("a second Put of the same buffer was accepted")
	}
	if len(p.free) != 0 {
		t.Fatalf("%d buffers kept after Release", len(p.free))
	}
	p.Release() // idempotent
}

// TestPoolUnmapsOnRelease checks that large staging buffers live outside
// the Go heap and are unmapped by Release: the idle ones at once, the one
// still handed out when it is returned.
func TestPoolUnmapsOnRelease(t *testing.T) {
	const n = offheap.MinMapped // 4 MiB of float32
	before := offheap.Mapped()
	p, err := NewPool[float32](n, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a[n-1], b[0] = 1, 2
	if got := offheap.Mapped() - before; got != 2*4*n {
		t.Fatalf("%d bytes mapped for two buffers of %d float32, want %d", got, n, 2*4*n)
	}
	if err := p.Put(a); err != nil {
		t.Fatal(err)
	}
	p.Release()
	if got := offheap.Mapped() - before; got != 4*n {
		t.Fatalf("%d bytes mapped after Release with one buffer out, want %d", got, 4*n)
	}
	if err := p.Put(b); err != nil {
		t.Fatal(err)
	}
	if got := offheap.Mapped() - before; got != 0 {
		t.Fatalf("%d bytes still mapped after the last Put", got)
	}
	if err := p.Drained(ctx); err != nil {
		t.Fatal(err)
	}
}
