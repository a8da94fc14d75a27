package stream

import (
	"encoding/binary"
	"testing"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// FuzzSequence feeds a Sequence chunks whose sequence numbers and sizes
// come from untrusted bytes (each chunk: an 8-byte sequence number, a
// 2-byte length, then that many data bytes): no panic, only chunks that
// continue the sequence are accepted, and the total never exceeds the
// limit.
func FuzzSequence(f *testing.F) {
	chunk := func(seq uint64, data string) []byte {
		b := binary.BigEndian.AppendUint64(nil, seq)
		b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
		return append(b, data...)
	}
	f.Add(uint16(16), append(chunk(0, "abcd"), chunk(1, "efgh")...))
	f.Add(uint16(4), append(chunk(0, "abcd"), chunk(1, "e")...))
	f.Add(uint16(16), append(chunk(1, "abcd"), chunk(0, "efgh")...))
	f.Add(uint16(16), append(chunk(0, "abcd"), chunk(0, "abcd")...))
	f.Add(uint16(16), chunk(0, ""))
	f.Fuzz(func(t *testing.T, limit uint16, data []byte) {
		s := NewSequence(int64(limit))
		var next uint64
		for len(data) >= 10 {
			seq := binary.BigEndian.Uint64(data)
			n := min(int(binary.BigEndian.Uint16(data[8:])), len(data)-10)
			c := &confedv1.Chunk{Seq: seq, Data: data[10 : 10+n]}
			data = data[10+n:]
			got, err := s.Accept(c)
			if err != nil {
				continue
			}
			if seq != next || len(got) == 0 || len(got) != n {
				t.Fatalf("accepted chunk %d (%d bytes) when %d was next", seq, len(got), next)
			}
			next++
			if s.Total() > int64(limit) {
				t.Fatalf("accepted %d bytes over a limit of %d", s.Total(), limit)
			}
		}
	})
}
