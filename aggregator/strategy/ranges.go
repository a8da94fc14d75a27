package strategy

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/confed/confed/internal/model"
)

// Range is the half-open interval [Lo, Hi) of indexes into a flat parameter
// vector (model spec order, as model.Model.Flat lays it out).
type Range struct {
	Lo, Hi int
}

// TensorRanges returns the flat ranges of the named tensors of spec, in spec
// order. It fails if spec is invalid or a name is not in spec. The usual
// call is TensorRanges(spec, model.TensorInputMean, model.TensorInputSqMean):
// the feature statistics that must be averaged exactly.
func TensorRanges(spec model.Spec, names ...string) ([]Range, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("strategy: tensor ranges: %w", err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Range
	off := 0
	for _, t := range spec {
		k := 1
		for _, d := range t.Shape {
			k *= d
		}
		if want[t.Name] {
			if k > 0 {
				out = append(out, Range{off, off + k})
			}
			delete(want, t.Name)
		}
		off += k
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for n := range want {
			missing = append(missing, n)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("strategy: tensor ranges: spec has no tensor %q", missing[0])
	}
	return out, nil
}

// normalizeRanges checks that every range lies within [0, n) and is not
// inverted, and returns them sorted with overlapping or adjacent ranges
// merged and empty ones dropped (a new slice). key names the configuration
// key in errors.
func normalizeRanges(key string, rs []Range, n int) ([]Range, error) {
	out := make([]Range, 0, len(rs))
	for i, r := range rs {
		if r.Lo < 0 || r.Hi < r.Lo || r.Hi > n {
			return nil, fmt.Errorf("%s[%d]: range [%d, %d) is not within [0, %d)", key, i, r.Lo, r.Hi, n)
		}
		if r.Hi > r.Lo {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return cmp.Compare(a.Lo, b.Lo) })
	merged := out[:0]
	for _, r := range out {
		if k := len(merged); k > 0 && r.Lo <= merged[k-1].Hi {
			merged[k-1].Hi = max(merged[k-1].Hi, r.Hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged, nil
}

// segments calls fn for the maximal runs of [lo, hi) that are wholly inside
// or wholly outside the sorted, merged ranges rs, in order.
func segments(rs []Range, lo, hi int, fn func(lo, hi int, in bool)) {
	// First range that ends after lo.
	i, _ := slices.BinarySearchFunc(rs, lo, func(r Range, x int) int {
		if r.Hi <= x {
			return -1
		}
		return 1
	})
	for lo < hi {
		if i >= len(rs) || rs[i].Lo >= hi {
			fn(lo, hi, false)
			return
		}
		r := rs[i]
		if lo < r.Lo {
			fn(lo, r.Lo, false)
			lo = r.Lo
		}
		end := min(r.Hi, hi)
		fn(lo, end, true)
		lo = end
		i++
	}
}
