package model

import (
	"fmt"
	"math/rand/v2"
)

// Model kinds and initialisations understood by Init.
const (
	KindLogisticRegression = "logistic_regression"
	InitZeros              = "zeros"
	InitNormal             = "normal"
)

// Tensors of a logistic-regression model besides "weight" and "bias": the
// pooled first and second moments of the raw input features, computed by
// the federation in its first round and used by every participant to
// standardise its inputs the same way. They start at zero, meaning "not yet
// computed", and are never drawn at random.
const (
	TensorInputMean   = "input_mean"
	TensorInputSqMean = "input_sq_mean"
)

// normalStdDev is the standard deviation of InitNormal.
const normalStdDev = 0.01

// InitSpec describes a freshly initialised model (round 0 of training).
type InitSpec struct {
	Kind     string // "logistic_regression"
	Features int    // number of input features, > 0
	Init     string // "zeros" or "normal"
	Seed     uint64 // seed for "normal"
}

// Init builds the model s describes. For "logistic_regression" it has tensors
// "bias" [1], "input_mean" [Features], "input_sq_mean" [Features] and
// "weight" [Features]. "zeros" sets every parameter to 0; "normal" draws
// "weight" from a normal
// distribution with mean 0 and standard deviation 0.01 using math/rand/v2's
// PCG seeded with (Seed, Seed): the same InitSpec always gives the same model.
func Init(s InitSpec) (*Model, error) {
	spec, err := SpecOf(s)
	if err != nil {
		return nil, err
	}
	flat := make([]float32, spec.NumParams())
	if s.Init == InitNormal {
		rng := rand.New(rand.NewPCG(s.Seed, s.Seed))
		weights := flat[len(flat)-s.Features:]
		for i := range weights {
			weights[i] = float32(rng.NormFloat64() * normalStdDev)
		}
	}
	m, err := ViewFlat(spec, flat)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	return m, nil
}

// SpecOf returns the shape of the model s describes, checking s as Init
// does, without building the model.
func SpecOf(s InitSpec) (Spec, error) {
	if s.Kind != KindLogisticRegression {
		return nil, fmt.Errorf("init: kind %q not supported: want %q", s.Kind, KindLogisticRegression)
	}
	if s.Features <= 0 || s.Features > maxElements-1 {
		return nil, fmt.Errorf("init: %s: features = %d, want between 1 and %d", s.Kind, s.Features, maxElements-1)
	}
	if s.Init != InitZeros && s.Init != InitNormal {
		return nil, fmt.Errorf("init: init %q not supported: want %q or %q", s.Init, InitZeros, InitNormal)
	}
	return Spec{
		{Name: "bias", Shape: []int{1}},
		{Name: TensorInputMean, Shape: []int{s.Features}},
		{Name: TensorInputSqMean, Shape: []int{s.Features}},
		{Name: "weight", Shape: []int{s.Features}},
	}, nil
}
