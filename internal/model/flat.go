package model

import "fmt"

// Flat returns a copy of all of m's values concatenated in spec (name) order.
func (m *Model) Flat() []float32 {
	out := make([]float32, 0, m.NumParams())
	for _, t := range m.Tensors {
		out = append(out, t.Data...)
	}
	return out
}

// FromFlat builds a model with the given spec from a flat vector in spec
// order, the inverse of Flat. flat is copied.
func FromFlat(spec Spec, flat []float32) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("from flat: %w", err)
	}
	if n := spec.NumParams(); len(flat) != n {
		return nil, fmt.Errorf("from flat: %d values, spec needs %d", len(flat), n)
	}
	m := &Model{Tensors: make([]Tensor, len(spec))}
	off := 0
	for i, ts := range spec {
		n := shapeElems(ts.Shape)
		m.Tensors[i] = Tensor{Name: ts.Name, Shape: cloneShape(ts.Shape), Data: append([]float32{}, flat[off:off+n]...)}
		off += n
	}
	return m, nil
}

// ViewFlat is FromFlat without copying: the model's tensors are slices of
// flat, so the caller must not change flat while the model is in use. It
// saves a model-sized copy where the flat vector is not needed afterwards.
func ViewFlat(spec Spec, flat []float32) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("view flat: %w", err)
	}
	if n := spec.NumParams(); len(flat) != n {
		return nil, fmt.Errorf("view flat: %d values, spec needs %d", len(flat), n)
	}
	m := &Model{Tensors: make([]Tensor, len(spec)), flat: flat}
	off := 0
	for i, ts := range spec {
		n := shapeElems(ts.Shape)
		m.Tensors[i] = Tensor{Name: ts.Name, Shape: cloneShape(ts.Shape), Data: flat[off : off+n : off+n]}
		off += n
	}
	return m, nil
}

// Sub returns a − b element-wise. Both must be valid and share a spec.
func Sub(a, b *Model) (*Model, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("sub: a: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("sub: b: %w", err)
	}
	if err := a.Spec().Equal(b.Spec()); err != nil {
		return nil, fmt.Errorf("sub: %w", err)
	}
	out := a.Clone()
	for i := range out.Tensors {
		bd := b.Tensors[i].Data
		for j := range out.Tensors[i].Data {
			out.Tensors[i].Data[j] -= bd[j]
		}
	}
	return out, nil
}

// Backing returns the flat vector that backs all of m's tensors in order,
// if m was made by ViewFlat and its tensors are still the slices ViewFlat
// made; otherwise nil and false. Writing to it writes to the tensors.
func (m *Model) Backing() ([]float32, bool) {
	if m.flat == nil {
		return nil, false
	}
	off := 0
	for _, t := range m.Tensors {
		if off+len(t.Data) > len(m.flat) {
			return nil, false
		}
		if len(t.Data) > 0 && &t.Data[0] != &m.flat[off] {
			return nil, false
		}
		off += len(t.Data)
	}
	if off != len(m.flat) {
		return nil, false
	}
	return m.flat, true
}
