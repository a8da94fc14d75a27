package fedavg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/confed/confed/internal/model"
)

func TestIngestAccepts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	specs := []model.Spec{
		testSpec,
		{{Name: "a", Shape: []int{3, 5}}, {Name: "b", Shape: []int{}}, {Name: "c", Shape: []int{0}}, {Name: "d", Shape: []int{10007}}},
	}
	for si, spec := range specs {
		for trial := range 5 {
			flat := randFlat(rng, spec.NumParams())
			b := encode(t, spec, flat)
			var sumSq float64
			for _, v := range flat {
				sumSq += float64(v) * float64(v)
			}
			for _, chunk := range []int{1, 3, 7, 4096, 0, 1 + rng.IntN(100)} {
				r := ingest(spec, b, int64(len(b)), nil, Limits{MaxBytes: int64(len(b)), MaxNorm: 1e6}, chunk)
				if r.err != nil {
					t.Fatalf("spec %d trial %d chunk %d: %v", si, trial, chunk, r.err)
				}
				st := r.staged
				if !sameBits(st.Values, flat) || &st.Values[0] != &r.buf[0] {
					t.Fatalf("spec %d trial %d chunk %d: Values differ from the encoded ones or are not the buffer", si, trial, chunk)
				}
				// Same values summed in the same order: the norm is exact;
				// 1e-12 relative leaves room for reordering.
				if want := math.Sqrt(sumSq); math.Abs(st.Norm-want) > 1e-12*want {
					t.Fatalf("Norm = %g, want %g", st.Norm, want)
				}
				if st.SHA256 != sha256.Sum256(b) || st.Bytes != int64(len(b)) {
					t.Fatalf("SHA256/Bytes = %x/%d, want %x/%d", st.SHA256, st.Bytes, sha256.Sum256(b), len(b))
				}
			}
		}
	}
}

// refusalCase is a crafted stream and the refusal it must get.
type refusalCase struct {
	name       string
	stream     []byte
	size       int64  // declared; 0 means the canonical size of testSpec
	hash       []byte // declared; nil means sha256(stream)
	limits     Limits
	wantReason Reason
	wantDetail string
}

func refusalCases(t *testing.T) []refusalCase {
	flat := []float32{0.5, 1, 2, 3, 4, 5, 6}
	good := encode(t, testSpec, flat)
	with := func(i int, v float32) []byte {
		f := append([]float32{}, flat...)
		f[i] = v
		return encode(t, testSpec, f)
	}
	// replace swaps old for new (same length) in the header of good.
	replace := func(old, new string) []byte {
		if len(old) != len(new) || !bytes.Contains(good, []byte(old)) {
			t.Fatalf("bad replacement %q → %q", old, new)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	// noMeta is a valid header without metadata (shorter than canonical),
	// then the data, then extra bytes up to the canonical size.
	hdr := `{"bias":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},"weight":{"data_offsets":[4,28],"dtype":"F32","shape":[2,3]}}`
	noMeta := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	noMeta = append(append(noMeta, hdr...), good[len(good)-28:]...)
	noMeta = append(noMeta, make([]byte, len(good)-len(noMeta))...)
	hugeHeader := binary.LittleEndian.AppendUint64(nil, 2<<20)
	var sumSq float64
	for _, v := range flat {
		sumSq += float64(v) * float64(v)
	}
	otherHash := sha256.Sum256([]byte("other"))

	return []refusalCase{
		{"NaN", with(4, float32(math.NaN())), 0, nil, Limits{}, ReasonNonFinite, `tensor "weight" element 3 is NaN`},
		{"+Inf", with(0, float32(math.Inf(1))), 0, nil, Limits{}, ReasonNonFinite, `tensor "bias" element 0 is +Inf`},
		{"-Inf", with(6, float32(math.Inf(-1))), 0, nil, Limits{}, ReasonNonFinite, `tensor "weight" element 5 is -Inf`},
		{"NaN before norm bound", with(1, float32(math.NaN())), 0, nil, Limits{MaxNorm: 1}, ReasonNonFinite, `tensor "weight" element 0 is NaN`},
		{"wrong tensor name", replace(`"weight"`, `"wieght"`), 0, nil, Limits{}, ReasonWrongShape, `tensor "weight" missing`},
		{"wrong shape", replace(`[2,3]`, `[3,2]`), 0, nil, Limits{}, ReasonWrongShape, `tensor "weight" has shape [3 2], want [2 3]`},
		{"F16", replace(`"F32","shape":[2`, `"F16","shape":[2`), 0, nil, Limits{}, ReasonWrongShape, `tensor "weight": dtype F16 not supported`},
		{"malformed header", replace(`{"__`, `["__`), 0, nil, Limits{}, ReasonWrongShape, "malformed"},
		{"header too large", hugeHeader, 0, nil, Limits{}, ReasonTooLarge, "header of 2097152 bytes exceeds the limit"},
		{"extra bytes", append(good[:len(good):len(good)], 0, 0, 0, 0), 0, nil, Limits{}, ReasonSizeMismatch, fmt.Sprintf("stream longer than its declared %d bytes", len(good))},
		{"extra bytes after header end", noMeta, 0, nil, Limits{}, ReasonSizeMismatch, "stream longer than its header declares"},
		{"truncated data", good[:len(good)-5], 0, nil, Limits{}, ReasonTruncated, "got 23 of 28 data bytes"},
		{"truncated header", good[:20], 0, nil, Limits{}, ReasonTruncated, "header bytes"},
		{"empty stream", nil, 0, nil, Limits{}, ReasonTruncated, "got 0 of 8 prefix bytes"},
		{"wrong hash", good, 0, otherHash[:], Limits{}, ReasonHashMismatch, fmt.Sprintf("declared %x", otherHash)},
		{"norm bound", good, 0, nil, Limits{MaxNorm: 0.99 * math.Sqrt(sumSq)}, ReasonNormExceeded, "L2 norm exceeds the bound"},
		{"declared over MaxBytes", good, 0, nil, Limits{MaxBytes: int64(len(good)) - 1}, ReasonTooLarge, "exceeds the limit"},
		{"declared size not canonical", good, int64(len(good)) + 4, nil, Limits{}, ReasonSizeMismatch, "canonical encoding of this spec is"},
		{"declared hash too short", good, 0, make([]byte, 31), Limits{}, ReasonHashMismatch, "declared SHA-256 has 31 bytes, want 32"},
	}
}

func TestIngestRefusals(t *testing.T) {
	canonical := model.SafetensorsSize(testSpec)
	for _, tc := range refusalCases(t) {
		size := tc.size
		if size == 0 {
			size = canonical
		}
		for _, chunk := range []int{1, 5, 0} {
			t.Run(fmt.Sprintf("%s/chunk %d", tc.name, chunk), func(t *testing.T) {
				r := ingest(testSpec, tc.stream, size, tc.hash, tc.limits, chunk)
				if got := ReasonOf(r.err); got != tc.wantReason || !strings.Contains(fmt.Sprint(r.err), tc.wantDetail) {
					t.Fatalf("error = %v (reason %q), want reason %q with detail containing %q", r.err, got, tc.wantReason, tc.wantDetail)
				}
			})
		}
	}
}

func TestRefusalErrorString(t *testing.T) {
	flat := []float32{0, 0, 0, 0, float32(math.NaN()), 0, 0}
	b := encode(t, testSpec, flat)
	r := ingest(testSpec, b, int64(len(b)), nil, Limits{}, 0)
	if want := `non_finite: tensor "weight" element 3 is NaN`; fmt.Sprint(r.err) != want {
		t.Fatalf("error = %q, want %q", r.err, want)
	}
}

func TestNewIngestorRejectsBadConfig(t *testing.T) {
	b := encode(t, testSpec, make([]float32, 7))
	sum := sha256.Sum256(b)
	size := int64(len(b))
	tests := []struct {
		name    string
		spec    model.Spec
		buf     []float32
		limits  Limits
		wantErr string
	}{
		{"short buffer", testSpec, make([]float32, 6), Limits{}, "buffer has 6 values, spec needs 7"},
		{"invalid spec", model.Spec{{Name: "w", Shape: []int{-1}}}, nil, Limits{}, "negative"},
		{"negative MaxNorm", testSpec, make([]float32, 7), Limits{MaxNorm: -1}, "MaxNorm"},
		{"NaN MaxNorm", testSpec, make([]float32, 7), Limits{MaxNorm: math.NaN()}, "MaxNorm"},
		{"negative MaxBytes", testSpec, make([]float32, 7), Limits{MaxBytes: -1}, "MaxBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIngestor(tt.spec, tt.buf, size, sum[:], tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ReasonOf(err) != "" {
				t.Fatalf("NewIngestor() = %v, want a non-refusal error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIngestorIsSticky(t *testing.T) {
	b := encode(t, testSpec, []float32{1, 2, 3, 4, 5, 6, 7})
	sum := sha256.Sum256(b)
	in, err := NewIngestor(testSpec, make([]float32, 7), int64(len(b)), sum[:], Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Write(b); err != nil {
		t.Fatal(err)
	}
	st, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := in.Finish(); again != st || err != nil {
		t.Fatalf("second Finish() = %v, %v; want the same result", again, err)
	}
	if err := in.Write([]byte{0}); err == nil {
		t.Fatal("Write after Finish succeeded")
	}

	in, _ = NewIngestor(testSpec, make([]float32, 7), int64(len(b)), sum[:], Limits{})
	bad := append([]byte{}, b...)
	bad[7] = 0x7f // absurd header length
	first := in.Write(bad[:8])
	if ReasonOf(first) != ReasonTooLarge {
		t.Fatalf("Write(bad prefix) = %v", first)
	}
	if err := in.Write(b[8:]); err != first {
		t.Fatalf("Write after refusal = %v, want %v", err, first)
	}
	if _, err := in.Finish(); err != first {
		t.Fatalf("Finish after refusal = %v, want %v", err, first)
	}
}
