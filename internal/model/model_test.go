package model

import (
	"math"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		wantErr string // empty: valid
	}{
		{"sorts by name", []Tensor{{"b", []int{1}, []float32{1}}, {"a", []int{2}, []float32{2, 3}}}, ""},
		{"scalar", []Tensor{{"s", nil, []float32{1}}}, ""},
		{"empty tensor", []Tensor{{"e", []int{0, 3}, []float32{}}}, ""},
		{"no tensors", nil, ""},
		{"empty name", []Tensor{{"", []int{1}, []float32{1}}}, "empty name"},
		{"duplicate", []Tensor{{"a", []int{1}, []float32{1}}, {"a", []int{1}, []float32{1}}}, `"a" after "a": names must be unique`},
		{"reserved", []Tensor{{"__metadata__", []int{1}, []float32{1}}}, "reserved"},
		{"bad utf8", []Tensor{{"\xff", []int{1}, []float32{1}}}, "not valid UTF-8"},
		{"negative dim", []Tensor{{"a", []int{2, -1}, nil}}, "dimension 1 is negative"},
		{"overflowing shape", []Tensor{{"a", []int{math.MaxInt / 2, 4}, nil}}, "more than"},
		{"data too short", []Tensor{{"a", []int{2, 2}, []float32{1, 2, 3}}}, `tensor "a": 3 values, shape [2 2] needs 4`},
		{"data too long", []Tensor{{"a", nil, []float32{1, 2}}}, `shape [] needs 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.tensors...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			for i := 1; i < len(m.Tensors); i++ {
				if m.Tensors[i-1].Name >= m.Tensors[i].Name {
					t.Fatalf("tensors not sorted: %q before %q", m.Tensors[i-1].Name, m.Tensors[i].Name)
				}
			}
		})
	}
}

func TestLookupAndClone(t *testing.T) {
	m := smallModel(t)
	w, ok := m.Lookup("weight")
	if !ok || !sameBits(w.Data, []float32{1, -2}) {
		t.Fatalf("Lookup(weight) = %v, %v", w, ok)
	}
	if _, ok := m.Lookup("nope"); ok {
		t.Fatal("Lookup(nope) found a tensor")
	}
	c := m.Clone()
	c.Tensors[1].Data[0] = 42
	c.Tensors[1].Shape[0] = 7
	if w.Data[0] != 1 || w.Shape[0] != 2 {
		t.Fatal("Clone shares memory with the original")
	}
	if m.NumParams() != 3 || m.Spec().NumParams() != 3 {
		t.Fatalf("NumParams = %d, Spec().NumParams = %d, want 3", m.NumParams(), m.Spec().NumParams())
	}
}

func TestFlatRoundTrip(t *testing.T) {
	m := smallModel(t)
	flat := m.Flat()
	if !sameBits(flat, []float32{0.5, 1, -2}) {
		t.Fatalf("Flat() = %v, want bias then weight", flat)
	}
	flat[0] = 9
	if m.Tensors[0].Data[0] != 0.5 {
		t.Fatal("Flat() aliases the model")
	}
	back, err := FromFlat(m.Spec(), []float32{0.5, 1, -2})
	if err != nil {
		t.Fatal(err)
	}
	assertSameModel(t, back, m)
}

func TestFromFlatRejects(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		flat    []float32
		wantErr string
	}{
		{"too few values", Spec{{"a", []int{2}}}, []float32{1}, "1 values, spec needs 2"},
		{"unsorted spec", Spec{{"b", []int{1}}, {"a", []int{1}}}, []float32{1, 2}, "must be unique and sorted"},
		{"negative dim", Spec{{"a", []int{-1}}}, nil, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FromFlat(tt.spec, tt.flat); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FromFlat() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSub(t *testing.T) {
	a := smallModel(t)
	b := mustNew(t, Tensor{"bias", []int{1}, []float32{0.25}}, Tensor{"weight", []int{2}, []float32{3, -2}})
	d, err := Sub(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Flat(); !sameBits(got, []float32{0.25, -2, 0}) {
		t.Fatalf("Sub() = %v, want [0.25 -2 0]", got)
	}
	if a.Flat()[1] != 1 {
		t.Fatal("Sub modified its input")
	}
	other := mustNew(t, Tensor{"bias", []int{1}, []float32{0}}, Tensor{"weight", []int{3}, []float32{0, 0, 0}})
	if _, err := Sub(a, other); err == nil || !strings.Contains(err.Error(), `tensor "weight" has shape [2] vs [3]`) {
		t.Fatalf("Sub(mismatched) error = %v", err)
	}
	if _, err := Sub(a, nil); err == nil {
		t.Fatal("Sub(a, nil) succeeded")
	}
}

func TestSpecEqual(t *testing.T) {
	base := Spec{{"a", []int{2, 3}}, {"b", nil}}
	tests := []struct {
		name    string
		other   Spec
		wantErr string
	}{
		{"equal", Spec{{"a", []int{2, 3}}, {"b", []int{}}}, ""},
		{"name", Spec{{"a", []int{2, 3}}, {"c", nil}}, `tensor 1 is "b" vs "c"`},
		{"shape", Spec{{"a", []int{3, 2}}, {"b", nil}}, `tensor "a" has shape [2 3] vs [3 2]`},
		{"rank", Spec{{"a", []int{6}}, {"b", nil}}, `tensor "a" has shape [2 3] vs [6]`},
		{"fewer", Spec{{"a", []int{2, 3}}}, "2 tensors vs 1"},
		{"more", append(Spec{{"a", []int{2, 3}}, {"b", nil}}, TensorSpec{"c", nil}), "2 tensors vs 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := base.Equal(tt.other)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Equal() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Equal() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSpecLocate(t *testing.T) {
	s := Spec{{"a", []int{2}}, {"empty", []int{0}}, {"w", []int{2, 2}}}
	tests := []struct {
		i        int
		wantName string
		wantElem int
		wantOK   bool
	}{
		{0, "a", 0, true}, {1, "a", 1, true}, {2, "w", 0, true}, {5, "w", 3, true},
		{6, "", 0, false}, {-1, "", 0, false},
	}
	for _, tt := range tests {
		name, elem, ok := s.Locate(tt.i)
		if name != tt.wantName || elem != tt.wantElem || ok != tt.wantOK {
			t.Errorf("Locate(%d) = %q, %d, %v; want %q, %d, %v", tt.i, name, elem, ok, tt.wantName, tt.wantElem, tt.wantOK)
		}
	}
}

func TestInit(t *testing.T) {
	zeros, err := Init(InitSpec{Kind: "logistic_regression", Features: 3, Init: "zeros"})
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{{"bias", []int{1}}, {TensorInputMean, []int{3}}, {TensorInputSqMean, []int{3}}, {"weight", []int{3}}}
	if err := zeros.Spec().Equal(want); err != nil {
		t.Fatal(err)
	}
	if !sameBits(zeros.Flat(), make([]float32, 10)) {
		t.Fatal("zeros init is not all zero")
	}

	spec := InitSpec{Kind: "logistic_regression", Features: 20000, Init: "normal", Seed: 7}
	a, err := Init(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Init(spec)
	if SHA256(a) != SHA256(b) {
		t.Fatal("normal init is not deterministic for a fixed seed")
	}
	spec.Seed = 8
	if c, _ := Init(spec); SHA256(c) == SHA256(a) {
		t.Fatal("different seeds gave the same model")
	}
	for _, name := range []string{"bias", TensorInputMean, TensorInputSqMean} {
		tn, _ := a.Lookup(name)
		for _, v := range tn.Data {
			if v != 0 {
				t.Fatalf("normal init drew %s; only the weights are random", name)
			}
		}
	}
	w, _ := a.Lookup("weight")
	var sum, sumSq float64
	for _, v := range w.Data {
		sum += float64(v)
		sumSq += float64(v) * float64(v)
	}
	n := float64(len(w.Data))
	mean, std := sum/n, math.Sqrt(sumSq/n-(sum/n)*(sum/n))
	// With n = 20000 the sample mean has standard error 0.01/√n ≈ 7e-5 and
	// the sample std is within about 1% of 0.01.
	if math.Abs(mean) > 5e-4 || math.Abs(std-0.01) > 5e-4 {
		t.Fatalf("normal init: mean %g, std %g; want about 0 and 0.01", mean, std)
	}
}

func TestInitRejects(t *testing.T) {
	tests := []struct {
		name    string
		spec    InitSpec
		wantErr string
	}{
		{"kind", InitSpec{Kind: "mlp", Features: 3, Init: "zeros"}, `kind "mlp" not supported`},
		{"features", InitSpec{Kind: "logistic_regression", Features: 0, Init: "zeros"}, "features = 0"},
		{"negative features", InitSpec{Kind: "logistic_regression", Features: -4, Init: "zeros"}, "features = -4"},
		{"init", InitSpec{Kind: "logistic_regression", Features: 3, Init: "xavier"}, `init "xavier" not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Init(tt.spec); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Init() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestViewFlatAliases(t *testing.T) {
	spec := Spec{{"a", []int{2}}, {"b", []int{3}}}
	flat := []float32{1, 2, 3, 4, 5}
	m, err := ViewFlat(spec, flat)
	if err != nil {
		t.Fatal(err)
	}
	copied, _ := FromFlat(spec, flat)
	if SHA256(m) != SHA256(copied) {
		t.Fatal("ViewFlat and FromFlat give different models")
	}
	flat[4] = 9
	if b, _ := m.Lookup("b"); b.Data[2] != 9 {
		t.Fatal("ViewFlat copied instead of aliasing")
	}
	if a, _ := m.Lookup("a"); cap(a.Data) != 2 {
		t.Fatal("a tensor's slice can grow into the next tensor")
	}
	if _, err := ViewFlat(spec, flat[:4]); err == nil {
		t.Fatal("ViewFlat accepted a short vector")
	}
}
