package strategy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpillRemovedOnClose(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpill(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(s.Path()) != dir || !strings.HasPrefix(filepath.Base(s.Path()), "confed-spill-") {
		t.Errorf("spill file %s, want confed-spill-* in %s", s.Path(), dir)
	}
	if err := s.Append([]float32{1, 2, 3, 4, 5}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Fatalf("spill file missing while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spill file still there after Close: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("directory not empty after Close: %v", entries)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Append([]float32{1, 2, 3, 4, 5}, 1); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Append after Close: %v", err)
	}
}

func TestSpillRefuses(t *testing.T) {
	if _, err := NewSpill(t.TempDir(), 0); err == nil {
		t.Error("NewSpill with 0 parameters")
	}
	if _, err := NewSpill(filepath.Join(t.TempDir(), "missing"), 3); err == nil {
		t.Error("NewSpill in a missing directory")
	}
	s, err := NewSpill(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		up   []float32
		w    float64
		want string
	}{
		{[]float32{1, 2}, 1, "update of 2 values, want 3"},
		{[]float32{1, 2, 3, 4}, 1, "update of 4 values, want 3"},
		{nil, 1, "update of 0 values"},
		{[]float32{1, 2, 3}, 0, "weight 0"},
		{[]float32{1, 2, 3}, -1, "weight -1"},
		{[]float32{1, 2, 3}, math.Inf(1), "weight +Inf"},
		{[]float32{1, 2, 3}, math.NaN(), "weight NaN"},
		{[]float32{1, nan, 3}, 1, "value 1 is NaN"},
		{[]float32{1, 2, inf}, 1, "value 2 is +Inf"},
	}
	for _, tc := range cases {
		if err := s.Append(tc.up, tc.w); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Append(%v, %v) = %v, want %q", tc.up, tc.w, err, tc.want)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("refused appends counted: Len = %d", s.Len())
	}
	if err := s.Append([]float32{1, 2, 3}, 7); err != nil || s.Len() != 1 || s.Weight(0) != 7 {
		t.Fatalf("good append: %v, Len %d", err, s.Len())
	}
}

// TestSpillLayout checks the logical layout on the unsealed test variant:
// float32 little-endian, one update after another.
func TestSpillLayout(t *testing.T) {
	ups := [][]float32{{1, 2, 3, 4, 5}, {-1, 0.5, 1e-3, 7, 8}}
	s := fill(t, ups, equalWeights(2), 2, false)
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, u := range ups {
		for _, v := range u {
			want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
		}
	}
	if !bytes.Equal(raw, want) {
		t.Fatalf("unsealed layout %x, want %x", raw, want)
	}
}

// TestSpillSealed checks that the file holds no plaintext, has the
// documented size, and that any modification fails authentication.
func TestSpillSealed(t *testing.T) {
	const n, seg = 10, 4
	rng := rand.New(rand.NewPCG(9, 9))
	ups := randUpdates(rng, 3, n, 1)
	s := fill(t, ups, equalWeights(3), seg, true)
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	// 3 updates × (40 bytes + 3 segments × 16-byte tag).
	if want := 3 * (4*n + 3*16); len(raw) != want {
		t.Fatalf("file of %d bytes, want %d", len(raw), want)
	}
	for _, u := range ups {
		for i := 0; i+2 <= n; i++ {
			var pair []byte
			pair = binary.LittleEndian.AppendUint32(pair, math.Float32bits(u[i]))
			pair = binary.LittleEndian.AppendUint32(pair, math.Float32bits(u[i+1]))
			if bytes.Contains(raw, pair) {
				t.Fatalf("plaintext values %v %v found in the spill file", u[i], u[i+1])
			}
		}
	}
	out := make([]float64, n)
	if _, err := Aggregate(s, RobustConfig{Name: Median}, out); err != nil {
		t.Fatal(err)
	}
	stride := int64(4*n + 3*16)
	segLen := int64(4*seg + 16)
	tamper := map[string]func(f *os.File){
		"flipped bit": func(f *os.File) {
			b := make([]byte, 1)
			f.ReadAt(b, stride+5)
			b[0] ^= 0x10
			f.WriteAt(b, stride+5)
		},
		"swapped segments": func(f *os.File) {
			a, b := make([]byte, segLen), make([]byte, segLen)
			f.ReadAt(a, 0)
			f.ReadAt(b, segLen)
			f.WriteAt(b, 0)
			f.WriteAt(a, segLen)
		},
		"swapped updates": func(f *os.File) {
			a, b := make([]byte, stride), make([]byte, stride)
			f.ReadAt(a, 0)
			f.ReadAt(b, stride)
			f.WriteAt(b, 0)
			f.WriteAt(a, stride)
		},
		"truncated": func(f *os.File) { f.Truncate(3*stride - 1) },
	}
	for name, mod := range tamper {
		s := fill(t, ups, equalWeights(3), seg, true)
		f, err := os.OpenFile(s.Path(), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		mod(f)
		f.Close()
		_, err = Aggregate(s, RobustConfig{Name: Median}, out)
		if err == nil {
			t.Errorf("%s: Aggregate succeeded on a modified file", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestSpillFailedWriteRetry makes a write fail, then retries the same
// update at the same index: the failed attempt is not counted, and the
// retry is sealed under a new attempt number, so GCM nonces are never
// reused even though the file region is written twice.
func TestSpillFailedWriteRetry(t *testing.T) {
	s, err := NewSpill(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append([]float32{1, 2, 3}, 1); err != nil {
		t.Fatal(err)
	}
	good := s.f
	ro, err := os.Open(s.Path()) // read-only: WriteAt fails
	if err != nil {
		t.Fatal(err)
	}
	s.f = ro
	if err := s.Append([]float32{4, 5, 6}, 1); err == nil || !strings.Contains(err.Error(), "write") {
		t.Fatalf("append to a read-only file: %v", err)
	}
	ro.Close()
	s.f = good
	if s.Len() != 1 {
		t.Fatalf("failed append counted: Len %d", s.Len())
	}
	if err := s.Append([]float32{4, 5, 6}, 1); err != nil {
		t.Fatal(err)
	}
	if s.gens[0] != 1 || s.gens[1] != 3 {
		t.Fatalf("attempt numbers %v, want [1 3]", s.gens)
	}
	out := make([]float64, 3)
	if _, err := Aggregate(s, RobustConfig{Name: Median}, out); err != nil || out[0] != 2.5 {
		t.Fatalf("aggregate after retry: %v %v", out, err)
	}
}
