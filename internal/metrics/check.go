package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// checkFamily checks what only a whole family shows: counters are not
// negative, histograms are complete and consistent.
func checkFamily(f *Family) error {
	switch f.Type {
	case TypeCounter:
		for _, s := range f.Samples {
			if s.Value < 0 || math.IsInf(s.Value, -1) {
				return fmt.Errorf("counter %s has the negative value %v", seriesKey(s.Name, s.Labels), s.Value)
			}
		}
	case TypeHistogram:
		return checkHistogram(f)
	}
	return nil
}

// histSeries gathers one histogram series' samples.
type histSeries struct {
	les            []float64
	counts         []float64
	sum, count     float64
	hasSum, hasCnt bool
}

func checkHistogram(f *Family) error {
	groups := map[string]*histSeries{}
	var order []string
	for _, s := range f.Samples {
		var le string
		rest := make([]Label, 0, len(s.Labels))
		for _, l := range s.Labels {
			if l.Name == "le" {
				le = l.Value
				continue
			}
			rest = append(rest, l)
		}
		key := seriesKey(f.Name, rest)
		g := groups[key]
		if g == nil {
			g = &histSeries{}
			groups[key] = g
			order = append(order, key)
		}
		if err := g.add(f.Name, s, le); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	for _, key := range order {
		if err := groups[key].check(); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func (g *histSeries) add(name string, s Sample, le string) error {
	switch s.Name {
	case name + "_bucket":
		if le == "" {
			return fmt.Errorf("bucket without an le label")
		}
		bound, err := parseBound(le)
		if err != nil {
			return err
		}
		if n := len(g.les); n > 0 && bound <= g.les[n-1] {
			return fmt.Errorf("bucket le=%q does not follow a smaller bound", le)
		}
		g.les = append(g.les, bound)
		g.counts = append(g.counts, s.Value)
	case name + "_sum":
		g.sum, g.hasSum = s.Value, true
	case name + "_count":
		g.count, g.hasCnt = s.Value, true
	}
	if le != "" && s.Name != name+"_bucket" {
		return fmt.Errorf("%s has an le label", s.Name)
	}
	return nil
}

func (g *histSeries) check() error {
	n := len(g.les)
	switch {
	case n == 0 || !math.IsInf(g.les[n-1], 1):
		return fmt.Errorf(`no le="+Inf" bucket`)
	case !g.hasSum || !g.hasCnt:
		return fmt.Errorf("missing _sum or _count")
	case g.counts[n-1] != g.count:
		return fmt.Errorf(`_count %v differs from the le="+Inf" bucket %v`, g.count, g.counts[n-1])
	}
	for i, c := range g.counts {
		if c < 0 || math.IsNaN(c) || (i > 0 && c < g.counts[i-1]) {
			return fmt.Errorf("bucket counts are not cumulative: %v", g.counts)
		}
	}
	return nil
}

func parseBound(le string) (float64, error) {
	if !floatValue.MatchString(le) || le == "NaN" {
		return 0, fmt.Errorf("invalid bucket bound le=%q", le)
	}
	v, err := strconv.ParseFloat(le, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid bucket bound le=%q", le)
	}
	return v, nil
}

// Family returns the family called name, or nil.
func (e *Exposition) Family(name string) *Family {
	for _, f := range e.Families {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Value returns the value of the sample called name whose labels are
// exactly the given name/value pairs (in any order).
func (e *Exposition) Value(name string, labelPairs ...string) (float64, bool) {
	if len(labelPairs)%2 != 0 {
		return 0, false
	}
	want := make([]Label, 0, len(labelPairs)/2)
	for i := 0; i < len(labelPairs); i += 2 {
		want = append(want, Label{labelPairs[i], labelPairs[i+1]})
	}
	key := seriesKey(name, want)
	for _, f := range e.Families {
		for _, s := range f.Samples {
			if s.Name == name && seriesKey(s.Name, s.Labels) == key {
				return s.Value, true
			}
		}
	}
	return 0, false
}

// Sum adds the values of every sample called name whose labels include the
// given name/value pairs.
func (e *Exposition) Sum(name string, labelPairs ...string) float64 {
	var total float64
	for _, f := range e.Families {
		for _, s := range f.Samples {
			if s.Name == name && hasLabels(s.Labels, labelPairs) {
				total += s.Value
			}
		}
	}
	return total
}

func hasLabels(ls []Label, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !slices.Contains(ls, Label{pairs[i], pairs[i+1]}) {
			return false
		}
	}
	return true
}

// String formats a sample as it would be written (labels in order).
func (s Sample) String() string {
	var b strings.Builder
	b.WriteString(s.Name)
	if len(s.Labels) > 0 {
		b.WriteByte('{')
		for i, l := range s.Labels {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(l.Name + `="` + EscapeLabelValue(l.Value) + `"`)
		}
		b.WriteByte('}')
	}
	b.WriteString(" " + FormatFloat(s.Value))
	return b.String()
}
