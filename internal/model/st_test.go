package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCanonicalEncoding(t *testing.T) {
	hdr := `{"__metadata__":{"format":"pt"},` +
		`"bias":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},` +
		`"weight":{"data_offsets":[4,12],"dtype":"F32","shape":[2]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	want := raw(hdr, f32le(0.5, 1, -2)...)

	got := EncodeSafetensors(smallModel(t))
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeSafetensors() =\n%q\nwant\n%q", got, want)
	}
	if n := SafetensorsSize(smallModel(t).Spec()); n != int64(len(want)) {
		t.Fatalf("SafetensorsSize() = %d, want %d", n, len(want))
	}
	if SHA256(smallModel(t)) != sha256.Sum256(want) {
		t.Fatal("SHA256() is not the hash of the canonical encoding")
	}
}

func TestCanonicalKeyOrder(t *testing.T) {
	// "A" sorts before "__metadata__", "z" after; names are JSON-escaped.
	m := mustNew(t,
		Tensor{Name: "z", Shape: []int{1}, Data: []float32{3}},
		Tensor{Name: "A", Shape: nil, Data: []float32{1}},
		Tensor{Name: `q"<&>\`, Shape: []int{0}, Data: nil},
	)
	b := EncodeSafetensors(m)
	hdrLen := binary.LittleEndian.Uint64(b)
	hdr := string(b[8 : 8+hdrLen])
	want := `{"A":{"data_offsets":[0,4],"dtype":"F32","shape":[]},"__metadata__":{"format":"pt"},` +
		`"q\"<&>\\":{"data_offsets":[4,4],"dtype":"F32","shape":[0]},"z":{"data_offsets":[4,8],"dtype":"F32","shape":[1]}}`
	if strings.TrimRight(hdr, " ") != want || hdrLen%8 != 0 {
		t.Fatalf("header = %q (len %d), want %q padded to a multiple of 8", hdr, hdrLen, want)
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		m := randModel(t, rng)
		b := EncodeSafetensors(m)
		if int64(len(b)) != SafetensorsSize(m.Spec()) {
			t.Fatalf("model %d: encoded %d bytes, SafetensorsSize says %d", i, len(b), SafetensorsSize(m.Spec()))
		}
		got, err := DecodeSafetensors(b, Limits{})
		if err != nil {
			t.Fatalf("model %d: DecodeSafetensors() = %v", i, err)
		}
		assertSameModel(t, got, m)
		read, err := ReadSafetensors(iotest.OneByteReader(bytes.NewReader(b)), Limits{})
		if err != nil {
			t.Fatalf("model %d: ReadSafetensors() = %v", i, err)
		}
		assertSameModel(t, read, m)
		if !bytes.Equal(EncodeSafetensors(got), b) {
			t.Fatalf("model %d: re-encoding changed the bytes", i)
		}
		var w bytes.Buffer
		if n, err := WriteSafetensors(&w, m); err != nil || n != int64(len(b)) || !bytes.Equal(w.Bytes(), b) {
			t.Fatalf("model %d: WriteSafetensors() = %d, %v; want %d identical bytes", i, n, err, len(b))
		}
	}
}

func TestEncodingIndependentOfConstructionOrder(t *testing.T) {
	a := smallModel(t)
	b := mustNew(t,
		Tensor{Name: "bias", Shape: []int{1}, Data: []float32{0.5}},
		Tensor{Name: "weight", Shape: []int{2}, Data: []float32{1, -2}},
	)
	if !bytes.Equal(EncodeSafetensors(a), EncodeSafetensors(b)) || SHA256(a) != SHA256(b) {
		t.Fatal("same model built in a different order encodes differently")
	}
	b.Tensors[1].Data[1] = -2.0000002
	if SHA256(a) == SHA256(b) {
		t.Fatal("different models have the same hash")
	}
}

func TestEncodeInvalidModel(t *testing.T) {
	bad := &Model{Tensors: []Tensor{{Name: "b", Data: []float32{1}}, {Name: "a", Data: []float32{1}}}}
	if _, err := WriteSafetensors(io.Discard, bad); err == nil {
		t.Fatal("WriteSafetensors(unsorted model) succeeded")
	}
	if EncodeSafetensors(bad) != nil || EncodeSafetensors(nil) != nil {
		t.Fatal("EncodeSafetensors(invalid) != nil")
	}
	if SHA256(bad) != ([32]byte{}) {
		t.Fatal("SHA256(invalid) is not zero")
	}
	if SafetensorsSize(Spec{{"a", []int{-1}}}) != -1 {
		t.Fatal("SafetensorsSize(invalid) != -1")
	}
	if _, err := WriteSafetensors(failWriter{}, smallModel(t)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("WriteSafetensors(failing writer) = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestDecodeExternalLayout reads a file laid out as Hugging Face's writer
// does it (metadata first, fields in dtype/shape/data_offsets order, no
// padding) with the data in an order other than name order.
func TestDecodeExternalLayout(t *testing.T) {
	hdr := `{"__metadata__":{"format":"pt","note":"x"},"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		"\n" + `"bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}` + "\t "
	b := raw(hdr, f32le(1, -2, 0.5)...)
	for name, decode := range decoders() {
		t.Run(name, func(t *testing.T) {
			m, err := decode(b, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			assertSameModel(t, m, smallModel(t))
		})
	}
}

func decoders() map[string]func([]byte, Limits) (*Model, error) {
	return map[string]func([]byte, Limits) (*Model, error){
		"Decode": DecodeSafetensors,
		"Read": func(b []byte, l Limits) (*Model, error) {
			return ReadSafetensors(bytes.NewReader(b), l)
		},
	}
}

func TestDecodeRejects(t *testing.T) {
	entry := func(name, dtype, shape, offsets string) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
	}
	ok := entry("w", "F32", "[2]", "[0,8]")
	data8 := f32le(1, 2)
	huge := binary.LittleEndian.AppendUint64(nil, 1<<40)
	tests := []struct {
		name    string
		in      []byte
		limits  Limits
		wantIs  error
		wantMsg string
	}{
		{"F16", raw(`{`+entry("x", "F16", "[2]", "[0,4]")+`}`, 0, 0, 0, 0), Limits{}, ErrUnsupportedDtype,
			`tensor "x": dtype F16 not supported: confed models are F32`},
		{"overlap", raw(`{`+ok+`,`+entry("v", "F32", "[1]", "[4,8]")+`}`, data8...), Limits{}, ErrMalformed, "overlap"},
		{"gap", raw(`{`+entry("w", "F32", "[1]", "[4,8]")+`}`, data8...), Limits{}, ErrMalformed, "gap"},
		{"span mismatch", raw(`{`+entry("w", "F32", "[1]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "span 8 bytes, shape [1] needs 4"},
		{"reversed offsets", raw(`{`+entry("w", "F32", "[0]", "[8,0]")+`}`, data8...), Limits{}, ErrMalformed, "end before they begin"},
		{"offsets past data", raw(`{`+entry("w", "F32", "[4]", "[0,16]")+`}`, data8...), Limits{}, ErrTruncated, "got 8 of 16 data bytes"},
		{"truncated data", raw(`{`+ok+`}`, data8[:5]...), Limits{}, ErrTruncated, "got 5 of 8 data bytes"},
		{"truncated header", raw(`{` + ok + `}`)[:20], Limits{}, ErrTruncated, "header bytes"},
		{"truncated prefix", []byte{1, 0, 0}, Limits{}, ErrTruncated, "got 3 of 8 prefix bytes"},
		{"trailing garbage", raw(`{`+ok+`}`, append(data8, 'x')...), Limits{}, ErrTooLong, ""},
		{"duplicate names", raw(`{`+ok+`,`+ok+`}`, data8...), Limits{}, ErrMalformed, `duplicate key "w"`},
		{"duplicate field", raw(`{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data8...), Limits{}, ErrMalformed, `duplicate field "dtype"`},
		{"negative shape", raw(`{`+entry("w", "F32", "[-2]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "-2 is negative"},
		{"overflowing shape", raw(`{`+entry("w", "F32", "[4294967296,4294967296]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "more than"},
		{"shape past int64", raw(`{`+entry("w", "F32", "[99999999999999999999]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "overflows int64"},
		{"fractional shape", raw(`{`+entry("w", "F32", "[2.0]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "2.0 is not an integer"},
		{"three offsets", raw(`{`+entry("w", "F32", "[2]", "[0,4,8]")+`}`, data8...), Limits{}, ErrMalformed, "want [begin, end]"},
		{"unknown field", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, data8...), Limits{}, ErrMalformed, `unknown field "x"`},
		{"missing field", raw(`{"w":{"dtype":"F32","shape":[2]}}`, data8...), Limits{}, ErrMalformed, `missing field "data_offsets"`},
		{"empty name", raw(`{`+entry("", "F32", "[2]", "[0,8]")+`}`, data8...), Limits{}, ErrMalformed, "empty name"},
		{"bad metadata", raw(`{"__metadata__":{"a":1}}`), Limits{}, ErrMalformed, "__metadata__"},
		{"not an object", raw(`[1,2]   `), Limits{}, ErrMalformed, "want \"{\""},
		{"bad json", raw(`{"w":`), Limits{}, ErrMalformed, ""},
		{"json then junk", raw(`{}x`), Limits{}, ErrMalformed, "after the JSON object"},
		{"not utf8", raw("{\"\xff\":1}"), Limits{}, ErrMalformed, "UTF-8"},
		{"header too small", raw(`{`), Limits{}, ErrMalformed, "cannot hold"},
		{"header over default limit", append(huge, '{'), Limits{}, ErrTooLarge, "exceeds the limit of 1048576"},
		{"header over limit", raw(`{`+ok+`}`, data8...), Limits{MaxHeaderBytes: 16}, ErrTooLarge, "exceeds the limit of 16"},
		{"total over limit", raw(`{`+ok+`}`, data8...), Limits{MaxTotalBytes: 60}, ErrTooLarge, "limit of 60"},
	}
	for _, tt := range tests {
		for name, decode := range decoders() {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				m, err := decode(tt.in, tt.limits)
				if err == nil {
					t.Fatalf("accepted: %v", m.Spec())
				}
				if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("error = %q, want errors.Is %q and containing %q", err, tt.wantIs, tt.wantMsg)
				}
			})
		}
	}
}

func TestDecodeEmptyModel(t *testing.T) {
	for name, decode := range decoders() {
		m, err := decode(EncodeSafetensors(mustNew(t)), Limits{})
		if err != nil || len(m.Tensors) != 0 {
			t.Fatalf("%s(empty model) = %v, %v", name, m, err)
		}
	}
}

func TestReadPropagatesReaderErrors(t *testing.T) {
	b := EncodeSafetensors(smallModel(t))
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(b[:len(b)-2]), iotest.ErrReader(boom))
	if _, err := ReadSafetensors(r, Limits{}); !errors.Is(err, boom) || errors.Is(err, ErrTruncated) {
		t.Fatalf("ReadSafetensors() = %v, want the reader's error", err)
	}
}

func TestDecodeKeepsNaNPayload(t *testing.T) {
	nan := math.Float32frombits(0x7fc00abc)
	m := mustNew(t, Tensor{Name: "x", Shape: []int{1}, Data: []float32{nan}})
	got, err := DecodeSafetensors(EncodeSafetensors(m), Limits{})
	if err != nil || math.Float32bits(got.Tensors[0].Data[0]) != 0x7fc00abc {
		t.Fatalf("NaN payload not preserved: %v", err)
	}
}
