package heartdisease

import (
	"fmt"
	"math"
)

// Standardizer rescales each feature to zero mean and unit variance using
// statistics fitted on a training set.
type Standardizer struct {
	Mean []float64
	Std  []float64 // population standard deviation; 1 for (near-)constant features
}

// FitStandardizer computes per-feature means and population standard deviations of
// ds. A feature whose deviation is zero (up to rounding) gets Std 1, so it is only
// centred: Switzerland, for instance, records every cholesterol value as 0. An empty
// dataset gives an empty Standardizer.
func FitStandardizer(ds Dataset) Standardizer {
	w, n := ds.Width(), float64(ds.Len())
	s := Standardizer{Mean: make([]float64, w), Std: make([]float64, w)}
	if n == 0 {
		return s
	}
	for _, row := range ds.X {
		for j, v := range row {
			s.Mean[j] += v
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= n
	}
	for _, row := range ds.X {
		for j, v := range row {
			d := v - s.Mean[j]
			s.Std[j] += d * d
		}
	}
	for j := range s.Std {
		s.Std[j] = math.Sqrt(s.Std[j] / n)
		if s.Std[j] <= 1e-12*math.Max(1, math.Abs(s.Mean[j])) {
			s.Std[j] = 1
		}
	}
	return s
}

// Transform returns a standardised copy of ds: (x - Mean) / Std per feature. Every
// row of ds must have len(s.Mean) features.
func (s Standardizer) Transform(ds Dataset) (Dataset, error) {
	if len(s.Mean) != len(s.Std) {
		return Dataset{}, fmt.Errorf("heartdisease: standardizer has %d means but %d deviations", len(s.Mean), len(s.Std))
	}
	out := Dataset{X: make([][]float64, len(ds.X)), Y: append([]float64(nil), ds.Y...)}
	for i, row := range ds.X {
		if len(row) != len(s.Mean) {
			return Dataset{}, fmt.Errorf("heartdisease: standardize: row %d has %d features, the standardizer was fitted on %d", i, len(row), len(s.Mean))
		}
		z := make([]float64, len(row))
		for j, v := range row {
			z[j] = (v - s.Mean[j]) / s.Std[j]
		}
		out.X[i] = z
	}
	return out, nil
}

// Apply is Transform for callers that know the widths agree, such as a standardizer
// fitted on the training split applied to the matching test split. A width mismatch
// is a programming error and panics; use Transform for untrusted input.
func (s Standardizer) Apply(ds Dataset) Dataset {
	out, err := s.Transform(ds)
	if err != nil {
		panic(err)
	}
	return out
}
