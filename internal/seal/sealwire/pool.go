package sealwire

import "google.golang.org/grpc/mem"

// Pool is a small free list of chunk buffers: a mem.BufferPool for
// NewOutgoing. A sender takes the buffer to seal each chunk into from Get,
// and the transport puts it back once written. Get allocates when the list
// is empty; Put drops a buffer when it is full. Safe for concurrent use.
type Pool struct {
	free chan *[]byte
}

var _ mem.BufferPool = (*Pool)(nil)

// NewPool returns a pool that keeps at most n buffers.
func NewPool(n int) *Pool { return &Pool{free: make(chan *[]byte, n)} }

// Get returns a buffer of length bytes.
func (p *Pool) Get(length int) *[]byte {
	for {
		select {
		case b := <-p.free:
			if cap(*b) < length {
				continue // too small for this chunk: let it go
			}
			*b = (*b)[:length]
			return b
		default:
			b := make([]byte, length)
			return &b
		}
	}
}

// Put returns b to the pool.
func (p *Pool) Put(b *[]byte) {
	select {
	case p.free <- b:
	default:
	}
}
