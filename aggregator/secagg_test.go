package aggregator

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/secagg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// framesOf queues frames (and then the stream's end) for a chunkReader.
func framesOf(fs ...*confedv1.SecAggClientFrame) <-chan frameOrErr {
	ch := make(chan frameOrErr, len(fs)+1)
	for _, f := range fs {
		ch <- frameOrErr{f: f}
	}
	ch <- frameOrErr{err: io.EOF}
	return ch
}

func chunk(round, seq uint64, data []byte) *confedv1.SecAggClientFrame {
	return &confedv1.SecAggClientFrame{Round: round, Msg: &confedv1.SecAggClientFrame_MaskedChunk{MaskedChunk: &confedv1.SecAggChunk{Seq: seq, Data: data}}}
}

func TestChunkReader(t *testing.T) {
	signed := &confedv1.SecAggClientFrame{Round: 4, Msg: &confedv1.SecAggClientFrame_Signed{Signed: []byte{1}}}
	tests := []struct {
		name   string
		frames []*confedv1.SecAggClientFrame
		want   string // "" = reads the 8 bytes
	}{
		{"two chunks", []*confedv1.SecAggClientFrame{chunk(4, 0, []byte("abc")), chunk(4, 1, []byte("defgh"))}, ""},
		{"gap", []*confedv1.SecAggClientFrame{chunk(4, 0, []byte("abc")), chunk(4, 2, []byte("defgh"))}, "chunk 2, want 1"},
		{"other round", []*confedv1.SecAggClientFrame{chunk(5, 0, []byte("abcdefgh"))}, "round 5"},
		{"too long", []*confedv1.SecAggClientFrame{chunk(4, 0, []byte("abcdefghi"))}, "1 bytes past the end"},
		{"empty chunk", []*confedv1.SecAggClientFrame{chunk(4, 0, nil)}, "of 0 bytes"},
		{"not a chunk", []*confedv1.SecAggClientFrame{signed}, "expected a masked-input chunk"},
		{"truncated", []*confedv1.SecAggClientFrame{chunk(4, 0, []byte("abc"))}, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &chunkReader{frames: framesOf(tt.frames...), round: 4, left: 8, idle: foldWait}
			got, err := io.ReadAll(r)
			if tt.want == "" {
				if err != nil || string(got) != "abcdefgh" {
					t.Errorf("read %q, %v; want abcdefgh", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("read %q, %v; want an error with %q", got, err, tt.want)
			}
		})
	}
}

// FuzzChunkReader feeds the masked-input reader arbitrary chunk frames
// (sequence numbers, sizes, rounds): it returns at most the vector's bytes,
// exactly them only if the chunks were in order, and never panics.
func FuzzChunkReader(f *testing.F) {
	f.Add([]byte{0, 0, 3, 1, 0, 5}, uint8(8))
	f.Add([]byte{0, 0, 9}, uint8(8))
	f.Add([]byte{0, 1, 2, 0, 0, 2}, uint8(4))
	f.Fuzz(func(t *testing.T, spec []byte, left uint8) {
		var frames []*confedv1.SecAggClientFrame
		for i := 0; i+2 < len(spec); i += 3 {
			frames = append(frames, chunk(uint64(spec[i]%2), uint64(spec[i+1]), bytes.Repeat([]byte{spec[i+2]}, int(spec[i+2]%16))))
		}
		r := &chunkReader{frames: framesOf(frames...), left: int64(left), idle: foldWait}
		got, err := io.ReadAll(r)
		if len(got) > int(left) {
			t.Fatalf("read %d bytes of a %d-byte vector", len(got), left)
		}
		if err == nil && len(got) != int(left) {
			t.Fatalf("read %d of %d bytes without an error", len(got), left)
		}
	})
}

func TestSecAggDelta(t *testing.T) {
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 4, MaxWeight: 10, MaxParticipants: 2}
	res := &secagg.Result{Sum: []uint32{8, 0xffff_fff8, 0}, TotalWeight: 2}
	d, err := newSecAggDelta(res, p)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 2)
	if err := d.Delta(1, dst); err != nil || dst[0] != -1 || dst[1] != 0 || d.Len() != 3 {
		t.Errorf("Delta(1) = %v, %v; want [-1 0]", dst, err)
	}
	if err := d.Delta(2, dst); err == nil {
		t.Error("a block past the end was read")
	}
	if _, err := newSecAggDelta(&secagg.Result{Sum: []uint32{1}}, p); err == nil {
		t.Error("a sum of no weight was accepted")
	}
}

func TestSecAggReason(t *testing.T) {
	err := &secagg.RefusedError{Reason: secagg.ReasonTooFew, Detail: "2 participants signed"}
	if got := secAggReason(err); got != "secagg_too_few: 2 participants signed" {
		t.Errorf("reason %q", got)
	}
	if got := secAggReason(errors.New("boom")); got != "secagg: boom" {
		t.Errorf("reason %q", got)
	}
}
