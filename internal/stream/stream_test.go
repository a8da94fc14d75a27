package stream

import (
	"bytes"
	"strings"
	"testing"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func TestSendAndAccept(t *testing.T) {
	for _, tc := range []struct{ size, chunk int }{{0, 4}, {1, 4}, {4, 4}, {5, 4}, {1 << 20, 1 << 16}, {1000003, 4096}} {
		payload := bytes.Repeat([]byte("abcdefg"), tc.size/7+1)[:tc.size]
		var got []byte
		seq := NewSequence(int64(tc.size))
		var chunks int
		n, err := Send(bytes.NewReader(payload), tc.chunk, func(c *confedv1.Chunk) error {
			chunks++
			if len(c.GetData()) > tc.chunk {
				t.Fatalf("chunk of %d bytes, limit %d", len(c.GetData()), tc.chunk)
			}
			d, err := seq.Accept(c)
			got = append(got, d...)
			return err
		})
		if err != nil || n != int64(tc.size) || !bytes.Equal(got, payload) {
			t.Fatalf("size %d chunk %d: n=%d err=%v equal=%v", tc.size, tc.chunk, n, err, bytes.Equal(got, payload))
		}
		if want := (tc.size + tc.chunk - 1) / tc.chunk; chunks != want {
			t.Errorf("size %d chunk %d: %d chunks, want %d", tc.size, tc.chunk, chunks, want)
		}
	}
}

func TestSequenceRefusals(t *testing.T) {
	tests := []struct {
		name    string
		chunks  []*confedv1.Chunk
		limit   int64
		wantErr string
	}{
		{"out of order", []*confedv1.Chunk{{Seq: 1, Data: []byte("a")}}, 10, "out of order"},
		{"duplicate", []*confedv1.Chunk{{Seq: 0, Data: []byte("a")}, {Seq: 0, Data: []byte("a")}}, 10, "out of order"},
		{"empty", []*confedv1.Chunk{{Seq: 0}}, 10, "empty"},
		{"missing", []*confedv1.Chunk{nil}, 10, "missing"},
		{"over limit", []*confedv1.Chunk{{Seq: 0, Data: []byte("abc")}, {Seq: 1, Data: []byte("de")}}, 4, "exceeds its limit"},
		{"too big", []*confedv1.Chunk{{Seq: 0, Data: make([]byte, MaxChunkSize+1)}}, 1 << 30, "more than the maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSequence(tt.limit)
			var err error
			for _, c := range tt.chunks {
				if _, err = s.Accept(c); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSendRejectsBadChunkSize(t *testing.T) {
	for _, cs := range []int{0, -1, MaxChunkSize + 1} {
		if _, err := Send(bytes.NewReader(nil), cs, func(*confedv1.Chunk) error { return nil }); err == nil {
			t.Errorf("chunk size %d accepted", cs)
		}
	}
}
