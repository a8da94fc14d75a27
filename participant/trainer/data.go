package trainer

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/confed/confed/internal/heartdisease"
)

var errEmpty = errors.New("trainer: dataset is empty")

// matrix validates ds and copies its features into a row-major gonum matrix.
func matrix(ds heartdisease.Dataset) (blas64.General, error) {
	if err := ds.Validate(); err != nil {
		return blas64.General{}, fmt.Errorf("trainer: %w", err)
	}
	n, d := ds.Len(), ds.Width()
	if n == 0 {
		return blas64.General{}, errEmpty
	}
	if d == 0 {
		return blas64.General{}, errors.New("trainer: dataset has no features")
	}
	x := blas64.General{Rows: n, Cols: d, Stride: d, Data: make([]float64, n*d)}
	for i, row := range ds.X {
		copy(x.Data[i*d:], row)
	}
	return x, nil
}

// rows returns the sub-matrix of rows [i, j) of x, sharing its data.
func rows(x blas64.General, i, j int) blas64.General {
	return blas64.General{Rows: j - i, Cols: x.Cols, Stride: x.Stride, Data: x.Data[i*x.Stride : j*x.Stride]}
}
