package heartdisease

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// idDataset returns n examples whose single feature is the example's index; the
// first pos examples are labelled 1.
func idDataset(n, pos int) Dataset {
	var ds Dataset
	for i := range n {
		y := 0.0
		if i < pos {
			y = 1
		}
		ds.X = append(ds.X, []float64{float64(i)})
		ds.Y = append(ds.Y, y)
	}
	return ds
}

func countPos(ds Dataset) int {
	n := 0
	for _, y := range ds.Y {
		n += int(y)
	}
	return n
}

func TestSplitStratified(t *testing.T) {
	tests := []struct {
		name             string
		n, pos           int
		frac             float64
		wantTest, tstPos int
	}{
		{"balanced", 100, 50, 0.34, 34, 17},
		{"skewed", 200, 20, 0.25, 50, 5},
		{"cleveland-like", 303, 139, 0.34, 103, 47},
		{"switzerland-like", 46, 45, 0.34, 15, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := idDataset(tt.n, tt.pos)
			train, test, err := Split(ds, tt.frac, 42)
			if err != nil {
				t.Fatal(err)
			}
			if test.Len() != tt.wantTest || countPos(test) != tt.tstPos {
				t.Errorf("test has %d examples, %d positive; want %d, %d", test.Len(), countPos(test), tt.wantTest, tt.tstPos)
			}
			if train.Len()+test.Len() != tt.n || countPos(train)+countPos(test) != tt.pos {
				t.Errorf("train %d + test %d examples do not add up to %d", train.Len(), test.Len(), tt.n)
			}
			// Every example lands in exactly one part, in the original order.
			seen := make([]bool, tt.n)
			for _, part := range []Dataset{train, test} {
				prev := -1.0
				for i, row := range part.X {
					id := int(row[0])
					if seen[id] || row[0] <= prev {
						t.Fatalf("example %d duplicated or out of order", id)
					}
					seen[id] = true
					prev = row[0]
					if want := ds.Y[id]; part.Y[i] != want {
						t.Fatalf("example %d label %v, want %v", id, part.Y[i], want)
					}
				}
			}
		})
	}
}

func TestSplitDeterministic(t *testing.T) {
	ds := idDataset(120, 40)
	a1, b1, err := Split(ds, 0.34, 7)
	if err != nil {
		t.Fatal(err)
	}
	a2, b2, _ := Split(ds, 0.34, 7)
	if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(b1, b2) {
		t.Error("the same seed gave different splits")
	}
	_, b3, _ := Split(ds, 0.34, 8)
	if reflect.DeepEqual(b1, b3) {
		t.Error("seeds 7 and 8 gave the same test set")
	}
	// The split must not alias its input.
	a1.X[0][0] = -1
	if ds.X[0][0] == -1 {
		t.Error("Split's output shares rows with its input")
	}
}

// TestSplitGolden pins the split of a fixed seed so that a change to the shuffle,
// which would silently change every benchmark number, is noticed.
func TestSplitGolden(t *testing.T) {
	_, test, err := Split(idDataset(10, 5), 0.4, 42)
	if err != nil {
		t.Fatal(err)
	}
	var ids []float64
	for _, row := range test.X {
		ids = append(ids, row[0])
	}
	want := []float64{1, 3, 6, 9}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("test ids = %v, want %v", ids, want)
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		ds   Dataset
		frac float64
		want string
	}{
		{"fraction zero", idDataset(10, 5), 0, "test fraction"},
		{"fraction one", idDataset(10, 5), 1, "test fraction"},
		{"fraction NaN", idDataset(10, 5), math.NaN(), "test fraction"},
		{"empty", Dataset{}, 0.3, "non-empty"},
		{"too small", idDataset(2, 1), 0.3, "non-empty"},
		{"bad label", Dataset{X: [][]float64{{1}}, Y: []float64{2}}, 0.3, "label"},
		{"ragged", Dataset{X: [][]float64{{1}, {1, 2}}, Y: []float64{0, 1}}, 0.3, "features"},
		{"length mismatch", Dataset{X: [][]float64{{1}}, Y: []float64{0, 1}}, 0.3, "labels"},
		{"non-finite", Dataset{X: [][]float64{{math.Inf(1)}}, Y: []float64{0}}, 0.3, "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Split(tt.ds, tt.frac, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Split error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConcat(t *testing.T) {
	a := Dataset{X: [][]float64{{1, 2}}, Y: []float64{0}}
	b := Dataset{X: [][]float64{{3, 4}, {5, 6}}, Y: []float64{1, 0}}
	got := Concat(a, Dataset{}, b)
	want := Dataset{X: [][]float64{{1, 2}, {3, 4}, {5, 6}}, Y: []float64{0, 1, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Concat = %v, want %v", got, want)
	}
	got.X[0][0] = 99
	if a.X[0][0] != 1 {
		t.Error("Concat's output shares rows with its input")
	}
	if c := Concat(); c.Len() != 0 {
		t.Errorf("Concat() has %d examples", c.Len())
	}
}
