package model

import "testing"

// TestBacking: a model from ViewFlat exposes its vector, one whose
// tensors were replaced or that was built otherwise does not.
func TestBacking(t *testing.T) {
	spec := Spec{{Name: "a", Shape: []int{2}}, {Name: "b", Shape: []int{3}}}
	flat := []float32{1, 2, 3, 4, 5}
	m, err := ViewFlat(spec, flat)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := m.Backing()
	if !ok || &got[0] != &flat[0] || len(got) != 5 {
		t.Fatal("ViewFlat model: no backing vector")
	}
	got[3] = 40
	if m.Tensors[1].Data[1] != 40 {
		t.Fatal("the backing vector does not back the tensors")
	}
	m.Tensors[1].Data = []float32{7, 8, 9}
	if _, ok := m.Backing(); ok {
		t.Fatal("a model with a replaced tensor still reports a backing vector")
	}
	c, _ := FromFlat(spec, flat)
	if _, ok := c.Backing(); ok {
		t.Fatal("FromFlat (a copy) reports a backing vector")
	}
}
