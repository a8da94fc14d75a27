package dp

import (
	"slices"
	"strings"
	"testing"
)

// TestRanges: the ranges outside the spans, in order, whatever the spans'
// order and overlaps; spans outside the vector are refused.
func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		skip []Span
		want []Span
		err  string
	}{
		{"no spans", 5, nil, []Span{{0, 5}}, ""},
		{"empty vector", 0, nil, nil, ""},
		{"one in the middle", 10, []Span{{3, 5}}, []Span{{0, 3}, {5, 10}}, ""},
		{"unsorted and overlapping", 10, []Span{{6, 8}, {0, 2}, {1, 3}, {7, 9}}, []Span{{3, 6}, {9, 10}}, ""},
		{"touching spans", 6, []Span{{1, 2}, {2, 4}}, []Span{{0, 1}, {4, 6}}, ""},
		{"covering everything", 4, []Span{{0, 4}}, nil, ""},
		{"empty span", 4, []Span{{2, 2}}, []Span{{0, 4}}, ""},
		{"beyond the end", 4, []Span{{2, 5}}, nil, "not within a vector of 4"},
		{"negative start", 4, []Span{{-1, 2}}, nil, "not within"},
		{"reversed", 4, []Span{{3, 2}}, nil, "not within"},
	} {
		var got []Span
		err := Ranges(tc.n, tc.skip, func(lo, hi int) { got = append(got, Span{lo, hi}) })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || got != nil {
				t.Errorf("%s: err %v, ranges %v; want an error with %q and no call", tc.name, err, got, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestClipAllocatesNothingBig: clipping works in place, without a copy of
// the vector.
func TestClipAllocatesNothingBig(t *testing.T) {
	v := make([]float32, 1<<16)
	for i := range v {
		v[i] = float32(i%7) + 1
	}
	skip := []Span{{10, 20}}
	allocs := testing.AllocsPerRun(5, func() {
		if _, _, err := Clip(v, 1, skip); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("Clip made %v allocations per call, want none the size of the vector", allocs)
	}
}
