package heartdisease

import (
	"fmt"
	"math"
)

// Dataset holds examples as rows: X[i] is the feature vector of example i (for
// parsed data, NumFeatures values in FeatureNames order) and Y[i] its label, 0 (no
// disease) or 1 (disease). Row-major [][]float64 keeps splitting and concatenation
// simple; the trainer copies X into a gonum matrix. Functions of this package
// return datasets that share no memory with their inputs.
type Dataset struct {
	X [][]float64
	Y []float64
}

// Len returns the number of examples.
func (ds Dataset) Len() int { return len(ds.Y) }

// Width returns the number of features per example (0 for an empty dataset).
func (ds Dataset) Width() int {
	if len(ds.X) == 0 {
		return 0
	}
	return len(ds.X[0])
}

// Validate checks that X and Y have the same length, that every row has the same
// width, that every feature is finite and that every label is 0 or 1.
func (ds Dataset) Validate() error {
	if len(ds.X) != len(ds.Y) {
		return fmt.Errorf("heartdisease: dataset has %d feature rows but %d labels", len(ds.X), len(ds.Y))
	}
	w := ds.Width()
	for i, row := range ds.X {
		if len(row) != w {
			return fmt.Errorf("heartdisease: dataset row %d has %d features, expected %d", i, len(row), w)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("heartdisease: dataset row %d feature %d is not finite", i, j)
			}
		}
		if y := ds.Y[i]; y != 0 && y != 1 {
			return fmt.Errorf("heartdisease: dataset row %d: label is not 0 or 1", i)
		}
	}
	return nil
}

// Concat returns the examples of all datasets, in order, in a new dataset. It does
// not check that the widths agree; call Validate on the result if they may not.
func Concat(ds ...Dataset) Dataset {
	var out Dataset
	for _, d := range ds {
		for i := range d.Y {
			out.X = append(out.X, cloneRow(d.X[i]))
			out.Y = append(out.Y, d.Y[i])
		}
	}
	return out
}

// cloneRow returns a copy of row.
func cloneRow(row []float64) []float64 { return append([]float64(nil), row...) }
