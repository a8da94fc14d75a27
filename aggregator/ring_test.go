package aggregator

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
)

func TestRingIngest(t *testing.T) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 13, Init: model.InitNormal, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := m.Spec()
	p := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
	q := make([]uint32, spec.NumParams())
	if err := fixedpoint.Quantise32(q, m.Flat(), 100, p, rand.NewChaCha8([32]byte{1})); err != nil {
		t.Fatal(err)
	}
	encode := func(q []uint32) []byte {
		var b bytes.Buffer
		if _, err := model.WriteRawSafetensors(&b, spec, model.U32, fixedpoint.Encode32(q)); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	big := append([]uint32(nil), q...)
	big[3] = 1 << 30 // beyond clip × scale × weight
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
		{"truncated", encode(q)[:50], 100, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newRingIngest(spec, make([]uint32, spec.NumParams()))
			sum := sha256.Sum256(tt.stream)
			err := in.write(tt.stream)
			if err == nil {
				_, err = in.finish(sum[:], tt.weight, p)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !equalU32(in.buf, q) {
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
		in := newRingIngest(spec, make([]uint32, spec.NumParams()))
		if err := in.write(encode(q)); err != nil {
			t.Fatal(err)
		}
		if _, err := in.finish(make([]byte, 32), 100, p); err == nil || !strings.Contains(err.Error(), "hash_mismatch") {
			t.Fatalf("err = %v", err)
		}
	})
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
