package fixedpoint

import (
	"errors"
	"slices"
	"testing"
)

func TestEncodeLittleEndian(t *testing.T) {
	q32 := []uint32{0x04030201, 0xFFFFFFFE, 0}
	want32 := []byte{1, 2, 3, 4, 0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}
	if got := Encode32(q32); !slices.Equal(got, want32) {
		t.Fatalf("Encode32 = % x, want % x", got, want32)
	}
	q64 := []uint64{0x0807060504030201, 1<<64 - 2}
	want64 := []byte{1, 2, 3, 4, 5, 6, 7, 8, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	if got := Encode64(q64); !slices.Equal(got, want64) {
		t.Fatalf("Encode64 = % x, want % x", got, want64)
	}
	if got := AppendEncode32([]byte{9}, q32[:1]); !slices.Equal(got, []byte{9, 1, 2, 3, 4}) {
		t.Fatalf("AppendEncode32 = % x", got)
	}
	d32 := make([]uint32, 3)
	if err := Decode32(d32, want32); err != nil || !slices.Equal(d32, q32) {
		t.Fatalf("Decode32 = %x, %v", d32, err)
	}
	d64 := make([]uint64, 2)
	if err := Decode64(d64, want64); err != nil || !slices.Equal(d64, q64) {
		t.Fatalf("Decode64 = %x, %v", d64, err)
	}
	if len(Encode32(nil)) != 0 || Decode32(nil, nil) != nil {
		t.Fatal("empty vector")
	}
}

func TestDecodeRefusesWrongLength(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"32: one byte short", Decode32(make([]uint32, 2), make([]byte, 7))},
		{"32: one byte long", Decode32(make([]uint32, 2), make([]byte, 9))},
		{"32: one element long", Decode32(make([]uint32, 2), make([]byte, 12))},
		{"64: 32-bit data", Decode64(make([]uint64, 2), make([]byte, 8))},
		{"64: one byte short", Decode64(make([]uint64, 1), make([]byte, 7))},
	} {
		if !errors.Is(tt.err, ErrLength) {
			t.Errorf("%s: %v, want ErrLength", tt.name, tt.err)
		}
	}
	dst := []uint32{7, 7}
	_ = Decode32(dst, make([]byte, 7))
	if !slices.Equal(dst, []uint32{7, 7}) {
		t.Error("a refused Decode32 wrote into dst")
	}
}
