// Package stream splits payloads into sequenced chunks for gRPC streams and
// checks the sequence on the receiving side.
//
// No message ever carries a whole model: senders read a chunk at a time
// from an io.Reader and receivers hand each chunk on before taking the next.
package stream

import (
	"errors"
	"fmt"
	"io"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// DefaultChunkSize is the chunk size used unless configured otherwise.
const DefaultChunkSize = 1 << 20

// MaxChunkSize bounds chunk sizes (gRPC's default receive limit is 4 MiB).
const MaxChunkSize = 4 << 20

// Send reads r to the end and sends it in chunks of chunkSize bytes with
// consecutive sequence numbers. It returns the number of bytes sent.
func Send(r io.Reader, chunkSize int, send func(*confedv1.Chunk) error) (int64, error) {
	if chunkSize <= 0 || chunkSize > MaxChunkSize {
		return 0, fmt.Errorf("chunk size %d out of range (1..%d)", chunkSize, MaxChunkSize)
	}
	buf := make([]byte, chunkSize)
	var total int64
	for seq := uint64(0); ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if serr := send(&confedv1.Chunk{Seq: seq, Data: buf[:n]}); serr != nil {
				return total, fmt.Errorf("sending chunk %d: %w", seq, serr)
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("reading chunk %d: %w", seq, err)
		}
	}
}

// Sequence checks that chunks arrive in order, without gaps or repeats, and
// that their total stays within a limit.
type Sequence struct {
	next  uint64
	total int64
	limit int64
}

// NewSequence returns a checker that refuses more than limit bytes in all.
func NewSequence(limit int64) *Sequence { return &Sequence{limit: limit} }

// Accept checks c and returns its data.
func (s *Sequence) Accept(c *confedv1.Chunk) ([]byte, error) {
	if c == nil {
		return nil, errors.New("missing chunk")
	}
	if c.GetSeq() != s.next {
		return nil, fmt.Errorf("chunk out of order: got sequence number %d, want %d", c.GetSeq(), s.next)
	}
	if len(c.GetData()) == 0 {
		return nil, fmt.Errorf("chunk %d is empty", c.GetSeq())
	}
	if len(c.GetData()) > MaxChunkSize {
		return nil, fmt.Errorf("chunk %d has %d bytes, more than the maximum %d", c.GetSeq(), len(c.GetData()), MaxChunkSize)
	}
	s.total += int64(len(c.GetData()))
	if s.total > s.limit {
		return nil, fmt.Errorf("stream exceeds its limit of %d bytes", s.limit)
	}
	s.next++
	return c.GetData(), nil
}

// Total is the number of bytes accepted so far.
func (s *Sequence) Total() int64 { return s.total }
