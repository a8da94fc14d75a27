package model

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Tensor is a named float32 tensor in row-major order. An empty Shape is a
// scalar holding one value.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Model is a set of tensors kept sorted by Name. Build one with New (or
// FromFlat, Init, the safetensors readers) so that it is valid.
type Model struct {
	Tensors []Tensor
	// flat is the vector ViewFlat made the tensors slices of (see Backing).
	flat []float32
}

// New validates tensors and returns them as a Model sorted by name. Names must
// be non-empty, unique, valid UTF-8 and not "__metadata__"; dimensions
// non-negative; len(Data) equal to the product of Shape. The model takes
// ownership of the Shape and Data slices.
func New(tensors ...Tensor) (*Model, error) {
	m := &Model{Tensors: slices.Clone(tensors)}
	slices.SortFunc(m.Tensors, func(a, b Tensor) int { return cmp.Compare(a.Name, b.Name) })
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate reports whether m satisfies the invariants New establishes.
func (m *Model) Validate() error {
	if m == nil {
		return errors.New("model: nil model")
	}
	if err := m.Spec().Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	for _, t := range m.Tensors {
		if want := shapeElems(t.Shape); len(t.Data) != want {
			return fmt.Errorf("model: tensor %q: %d values, shape %v needs %d", t.Name, len(t.Data), fmtShape(t.Shape), want)
		}
	}
	return nil
}

// Spec returns the names and shapes of m's tensors (a copy).
func (m *Model) Spec() Spec {
	s := make(Spec, len(m.Tensors))
	for i, t := range m.Tensors {
		s[i] = TensorSpec{Name: t.Name, Shape: cloneShape(t.Shape)}
	}
	return s
}

// NumParams returns the number of float32 values in m.
func (m *Model) NumParams() int {
	n := 0
	for _, t := range m.Tensors {
		n += len(t.Data)
	}
	return n
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	out := &Model{Tensors: make([]Tensor, len(m.Tensors))}
	for i, t := range m.Tensors {
		out.Tensors[i] = Tensor{Name: t.Name, Shape: cloneShape(t.Shape), Data: slices.Clone(t.Data)}
	}
	return out
}

// Lookup returns the tensor called name (a pointer into m, not a copy).
func (m *Model) Lookup(name string) (*Tensor, bool) {
	i, ok := slices.BinarySearchFunc(m.Tensors, name, func(t Tensor, n string) int { return cmp.Compare(t.Name, n) })
	if !ok {
		return nil, false
	}
	return &m.Tensors[i], true
}
