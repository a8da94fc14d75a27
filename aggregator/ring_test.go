package aggregator

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
)

// TestRingIngest decodes, hashes and range-checks fixed-point updates in
// both rings, and refuses the bad ones with their reason.
func TestRingIngest(t *testing.T) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 13, Init: model.InitNormal, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := m.Spec()
	t.Run("32-bit", func(t *testing.T) {
		p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
		q := make([]uint32, spec.NumParams())
		if err := fixedpoint.Quantise32(q, m.Flat(), 100, p, rand.NewChaCha8([32]byte{1})); err != nil {
			t.Fatal(err)
		}
		testRingIngest(t, m, p, q, ring32, fixedpoint.Encode32, 1<<30)
	})
	t.Run("64-bit", func(t *testing.T) {
		p := fixedpoint.Params{Bits: 64, Clip: 1, Scale: 1 << 40, MaxWeight: 1000, MaxParticipants: 4}
		q := make([]uint64, spec.NumParams())
		if err := fixedpoint.Quantise64(q, m.Flat(), 100, p, rand.NewChaCha8([32]byte{1})); err != nil {
			t.Fatal(err)
		}
		testRingIngest(t, m, p, q, ring64, fixedpoint.Encode64, 1<<60)
	})
}

func testRingIngest[T ringWord](t *testing.T, m *model.Model, p fixedpoint.Params, q []T, g ringOf[T], enc func([]T) []byte, tooBig T) {
	spec := m.Spec()
	encode := func(q []T) []byte {
		var b bytes.Buffer
		if _, err := model.WriteRawSafetensors(&b, spec, g.dtype, enc(q)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	big := slices.Clone(q)
	big[3] = tooBig // beyond clip × scale × weight
	other := model.U32
	if g.dtype == model.U32 {
		other = model.U64
	}
	var wrongWord bytes.Buffer
	if _, err := model.WriteRawSafetensors(&wrongWord, spec, other, make([]byte, other.Size()*spec.NumParams())); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		stream  []byte
		weight  uint64
		wantErr string
	}{
		{"valid", encode(q), 100, ""},
		{"out of range", encode(big), 100, ReasonOutOfRange},
		{"weight above max_weight", encode(q), 5000, "bad_weight"},
		{"float32 stream", model.EncodeSafetensors(m), 100, "wrong_shape"},
		{"the other ring's words", wrongWord.Bytes(), 100, "wrong_shape"},
		{"truncated", encode(q)[:50], 100, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newRingIngest(spec, make([]T, spec.NumParams()), g.dtype)
			sum := sha256.Sum256(tt.stream)
			err := in.write(tt.stream)
			if err == nil {
				_, err = in.finish(sum[:], tt.weight, p, g.kernel())
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(in.buf, q) {
					t.Fatal("decoded ring elements differ from what was encoded")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	t.Run("hash mismatch", func(t *testing.T) {
		in := newRingIngest(spec, make([]T, spec.NumParams()), g.dtype)
		if err := in.write(encode(q)); err != nil {
			t.Fatal(err)
		}
		if _, err := in.finish(make([]byte, 32), 100, p, g.kernel()); err == nil || !strings.Contains(err.Error(), "hash_mismatch") {
			t.Fatalf("err = %v", err)
		}
	})
}
