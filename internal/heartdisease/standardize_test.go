package heartdisease

import (
	"math"
	"testing"
)

func TestFitStandardizer(t *testing.T) {
	ds := Dataset{
		X: [][]float64{{1, 0, 5}, {3, 0, 5}, {5, 0, 5}},
		Y: []float64{0, 1, 0},
	}
	s := FitStandardizer(ds)
	wantMean := []float64{3, 0, 5}
	wantStd := []float64{math.Sqrt(8.0 / 3), 1, 1} // constant features get Std 1
	for j := range wantMean {
		if math.Abs(s.Mean[j]-wantMean[j]) > 1e-12 || math.Abs(s.Std[j]-wantStd[j]) > 1e-12 {
			t.Errorf("feature %d: mean %v std %v, want %v %v", j, s.Mean[j], s.Std[j], wantMean[j], wantStd[j])
		}
	}
	z := s.Apply(ds)
	for i, row := range z.X {
		if row[1] != 0 || row[2] != 0 {
			t.Errorf("row %d: constant features standardise to %v, %v; want 0, 0", i, row[1], row[2])
		}
		if z.Y[i] != ds.Y[i] {
			t.Errorf("row %d: label changed", i)
		}
	}
	if math.Abs(z.X[0][0]+math.Sqrt(1.5)) > 1e-12 {
		t.Errorf("z[0][0] = %v, want %v", z.X[0][0], -math.Sqrt(1.5))
	}
	if ds.X[0][0] != 1 {
		t.Error("Apply modified its input")
	}
}

func TestStandardizerNearConstant(t *testing.T) {
	// Identical values whose mean is not exactly representable must not blow up.
	ds := Dataset{X: [][]float64{{0.1}, {0.1}, {0.1}}, Y: []float64{0, 0, 1}}
	s := FitStandardizer(ds)
	if s.Std[0] != 1 {
		t.Errorf("Std = %v, want 1", s.Std[0])
	}
}

func TestStandardizerTransformErrors(t *testing.T) {
	s := Standardizer{Mean: []float64{0, 0}, Std: []float64{1, 1}}
	if _, err := s.Transform(Dataset{X: [][]float64{{1}}, Y: []float64{0}}); err == nil {
		t.Error("Transform accepted a row of the wrong width")
	}
	bad := Standardizer{Mean: []float64{0}, Std: nil}
	if _, err := bad.Transform(Dataset{}); err == nil {
		t.Error("Transform accepted mismatched Mean and Std")
	}
	if got := FitStandardizer(Dataset{}); len(got.Mean) != 0 {
		t.Errorf("FitStandardizer(empty) = %+v", got)
	}
}

func TestPrepare(t *testing.T) {
	for _, h := range Hospitals {
		t.Run(h.Name, func(t *testing.T) {
			train, test, err := Prepare(h.Path(dataDir), 0.34, 42)
			if err != nil {
				t.Fatal(err)
			}
			if train.Width() != NumFeatures || test.Width() != NumFeatures {
				t.Fatalf("widths %d, %d", train.Width(), test.Width())
			}
			s := FitStandardizer(train)
			for j := range NumFeatures {
				if math.Abs(s.Mean[j]) > 1e-9 {
					t.Errorf("%s: standardised train mean %v", FeatureNames[j], s.Mean[j])
				}
				if sd := s.Std[j]; math.Abs(sd-1) > 1e-9 {
					t.Errorf("%s: standardised train std %v", FeatureNames[j], sd)
				}
			}
			if err := test.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	if _, _, err := Prepare(dataDir+"/nope.data", 0.34, 42); err == nil {
		t.Error("Prepare of a missing file succeeded")
	}
}
