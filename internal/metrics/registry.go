// Package metrics is confed's small, dependency-free Prometheus
// instrumentation: counters, gauges and histograms with label names fixed
// when they are registered, safe for concurrent use, exposed in the
// Prometheus text format 0.0.4 in a deterministic order (families by name,
// series by label values), over a plain-HTTP listener of its own (Serve).
//
// It uses the standard library only, because the aggregator links it and
// everything the aggregator links is part of the trusted computing base
// (cmd/confed-aggregator/deps_test.go). Parse is a strict parser of the same
// format, for tests and for anyone who scrapes a daemon.
//
// Label values must come from bounded sets: the daemons use reason codes,
// outcomes, TEE kinds, gRPC method names and, as the only open-ended label,
// participant names, which the round configuration bounds.
package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Type is a metric family's type as written on its TYPE line.
type Type string

// Types of metric families.
const (
	TypeCounter   Type = "counter"
	TypeGauge     Type = "gauge"
	TypeHistogram Type = "histogram"
)

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds metric families. The zero value is not usable; call
// NewRegistry.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{families: map[string]*family{}} }

// family is one metric name: its help, type, label names and series.
type family struct {
	name    string
	help    string
	typ     Type
	labels  []string
	buckets []float64 // histograms only

	mu     sync.Mutex
	series map[string]*series // by joined label values
}

// series is one combination of label values.
type series struct {
	values []string
	c      *Counter
	g      *Gauge
	h      *Histogram
}

// register adds a family. Names and label names are constants in the
// daemons' code, so an invalid or duplicate one is a programming error and
// panics at start-up.
func (r *Registry) register(name, help string, typ Type, buckets []float64, labels []string) *family {
	if !metricName.MatchString(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for i, l := range labels {
		if !labelName.MatchString(l) || strings.HasPrefix(l, "__") || slices.Contains(labels[:i], l) {
			panic(fmt.Sprintf("metrics: invalid or repeated label name %q of %s", l, name))
		}
		if typ == TypeHistogram && l == "le" {
			panic(fmt.Sprintf("metrics: histogram %s may not have a label named le", name))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.families[name]; ok {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	f := &family{name: name, help: help, typ: typ, labels: slices.Clone(labels), buckets: buckets,
		series: map[string]*series{}}
	r.families[name] = f
	return f
}

// get returns the series for values, creating it on first use.
func (f *family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s has labels %v, got %d values", f.name, f.labels, len(values)))
	}
	key := strings.Join(values, "\xff")
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.series[key]; ok {
		return s
	}
	s := &series{values: slices.Clone(values)}
	switch f.typ {
	case TypeCounter:
		s.c = &Counter{}
	case TypeGauge:
		s.g = &Gauge{}
	case TypeHistogram:
		s.h = newHistogram(f.buckets)
	}
	f.series[key] = s
	return s
}

// sortedSeries returns the family's series ordered by label values.
func (f *family) sortedSeries() []*series {
	f.mu.Lock()
	out := make([]*series, 0, len(f.series))
	for _, s := range f.series {
		out = append(out, s)
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b *series) int { return slices.Compare(a.values, b.values) })
	return out
}

// sortedFamilies returns the registry's families ordered by name.
func (r *Registry) sortedFamilies() []*family {
	r.mu.Lock()
	out := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		out = append(out, f)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	return out
}

// CounterVec is a counter family with fixed label names.
type CounterVec struct{ f *family }

// Counter registers a counter family. A family without labels has its one
// series from the start; With on a labelled family creates series on first
// use (call it at start-up for every known value to expose zeros).
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	v := &CounterVec{r.register(name, help, TypeCounter, nil, labels)}
	if len(labels) == 0 {
		v.f.get(nil)
	}
	return v
}

// With returns the counter for the label values, in registration order.
func (v *CounterVec) With(values ...string) *Counter { return v.f.get(values).c }

// GaugeVec is a gauge family with fixed label names.
type GaugeVec struct{ f *family }

// Gauge registers a gauge family (see Counter).
func (r *Registry) Gauge(name, help string, labels ...string) *GaugeVec {
	v := &GaugeVec{r.register(name, help, TypeGauge, nil, labels)}
	if len(labels) == 0 {
		v.f.get(nil)
	}
	return v
}

// With returns the gauge for the label values.
func (v *GaugeVec) With(values ...string) *Gauge { return v.f.get(values).g }

// HistogramVec is a histogram family with fixed label names and buckets.
type HistogramVec struct{ f *family }

// Histogram registers a histogram family with the given bucket upper
// bounds, which must be finite and strictly increasing; the +Inf bucket is
// implicit.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if err := checkBuckets(buckets); err != nil {
		panic(fmt.Sprintf("metrics: %s: %v", name, err))
	}
	v := &HistogramVec{r.register(name, help, TypeHistogram, slices.Clone(buckets), labels)}
	if len(labels) == 0 {
		v.f.get(nil)
	}
	return v
}

// With returns the histogram for the label values.
func (v *HistogramVec) With(values ...string) *Histogram { return v.f.get(values).h }
