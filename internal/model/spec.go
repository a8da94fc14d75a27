package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// metadataKey is the reserved safetensors header key for free-form metadata;
// no tensor may use it as its name.
const metadataKey = "__metadata__"

// maxElements bounds the number of float32 values in one model so that every
// byte size (4 × elements, plus header) fits in an int and an int64.
const maxElements = min(1<<33, math.MaxInt/8) // 32 GiB of float32 on 64-bit, far beyond any confed model

// TensorSpec is the name and shape of one tensor. An empty shape is a scalar.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Spec describes a model's tensors, sorted by name. It is what two models must
// share to be added, subtracted or averaged.
type Spec []TensorSpec

// NumParams returns the total number of float32 values described by s. It is
// only meaningful for a valid Spec (see Validate).
func (s Spec) NumParams() int {
	n := 0
	for _, t := range s {
		n += shapeElems(t.Shape)
	}
	return n
}

// Validate reports whether s can describe a model: names non-empty, valid
// UTF-8, not "__metadata__", strictly increasing (sorted and unique);
// dimensions non-negative; sizes within limits.
func (s Spec) Validate() error {
	total := 0
	for i, t := range s {
		if err := checkName(t.Name); err != nil {
			return fmt.Errorf("spec: tensor %d: %w", i, err)
		}
		if i > 0 && s[i-1].Name >= t.Name {
			return fmt.Errorf("spec: tensor %q after %q: names must be unique and sorted", t.Name, s[i-1].Name)
		}
		n, err := checkedElems(t.Shape)
		if err != nil {
			return fmt.Errorf("spec: tensor %q: %w", t.Name, err)
		}
		if total += n; total > maxElements {
			return fmt.Errorf("spec: more than %d parameters", maxElements)
		}
	}
	return nil
}

// Equal returns nil if s and o describe the same tensors (names and shapes, in
// order), or an error naming the first difference.
func (s Spec) Equal(o Spec) error {
	for i := range min(len(s), len(o)) {
		if s[i].Name != o[i].Name {
			return fmt.Errorf("spec: tensor %d is %q vs %q", i, s[i].Name, o[i].Name)
		}
		if !slices.Equal(s[i].Shape, o[i].Shape) {
			return fmt.Errorf("spec: tensor %q has shape %v vs %v", s[i].Name, fmtShape(s[i].Shape), fmtShape(o[i].Shape))
		}
	}
	if len(s) != len(o) {
		return fmt.Errorf("spec: %d tensors vs %d", len(s), len(o))
	}
	return nil
}

// Locate maps an index into the flat parameter vector (spec order) to the
// tensor holding it and the element index within that tensor. ok is false if
// i is out of range.
func (s Spec) Locate(i int) (name string, elem int, ok bool) {
	if i < 0 {
		return "", 0, false
	}
	for _, t := range s {
		n := shapeElems(t.Shape)
		if i < n {
			return t.Name, i, true
		}
		i -= n
	}
	return "", 0, false
}

func (s Spec) clone() Spec {
	out := make(Spec, len(s))
	for i, t := range s {
		out[i] = TensorSpec{Name: t.Name, Shape: cloneShape(t.Shape)}
	}
	return out
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == metadataKey:
		return fmt.Errorf("name %q is reserved by safetensors", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid UTF-8", name)
	}
	return nil
}

// checkedElems returns the number of elements of shape, or an error if a
// dimension is negative or the product exceeds maxElements.
func checkedElems(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v: dimension %d is negative", fmtShape(shape), i)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v: more than %d elements", fmtShape(shape), maxElements)
		}
		n *= d
	}
	return n, nil
}

// shapeElems is the unchecked product of shape; callers validate first.
func shapeElems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func cloneShape(shape []int) []int {
	return append([]int{}, shape...)
}

// fmtShape renders a shape as [a b c], with [] for a scalar (never "nil").
func fmtShape(shape []int) string {
	if len(shape) == 0 {
		return "[]"
	}
	return fmt.Sprint(shape)
}
