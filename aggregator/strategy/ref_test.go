package strategy

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Naive in-memory reference implementations, written straight from the
// papers' formulas with none of the package's machinery (no ranges, no
// blocks, no spill), to test the real code against.

// refOpt is a reference server optimiser.
type refOpt struct {
	c      Config
	frozen []bool
	m, v   []float64
	t      int
}

func newRefOpt(c Config, n int) *refOpt {
	r := &refOpt{c: c, frozen: make([]bool, n), m: make([]float64, n), v: make([]float64, n)}
	for _, rg := range c.Frozen {
		for i := rg.Lo; i < rg.Hi; i++ {
			r.frozen[i] = true
		}
	}
	for i := range r.v {
		r.v[i] = c.Tau * c.Tau // v₋₁ = τ²
	}
	return r
}

func (r *refOpt) step(x []float32, d []float64) []float32 {
	r.t++
	c := r.c
	out := make([]float32, len(x))
	for i := range x {
		if r.frozen[i] || c.Name == FedAvg {
			out[i] = float32(float64(x[i]) + d[i])
			continue
		}
		switch c.Name {
		case FedAvgM:
			r.m[i] = c.Momentum*r.m[i] + d[i]
			out[i] = float32(float64(x[i]) + c.ServerLR*r.m[i])
			continue
		case FedAdagrad:
			r.v[i] += d[i] * d[i]
		case FedYogi:
			s := 0.0
			if r.v[i] > d[i]*d[i] {
				s = 1
			} else if r.v[i] < d[i]*d[i] {
				s = -1
			}
			r.v[i] -= (1 - c.Beta2) * d[i] * d[i] * s
		case FedAdam:
			r.v[i] = c.Beta2*r.v[i] + (1-c.Beta2)*d[i]*d[i]
		}
		r.m[i] = c.Beta1*r.m[i] + (1-c.Beta1)*d[i]
		eta := c.ServerLR
		if c.BiasCorrection {
			eta = eta * math.Sqrt(1-math.Pow(c.Beta2, float64(r.t))) / (1 - math.Pow(c.Beta1, float64(r.t)))
		}
		out[i] = float32(float64(x[i]) + eta*r.m[i]/(math.Sqrt(r.v[i])+c.Tau))
	}
	return out
}

// refRobust is the reference robust aggregate of updates (with weights for
// the exact ranges). It returns the aggregate, Krum's selection (sorted)
// and Krum's scores.
func refRobust(c RobustConfig, ups [][]float32, weights []float64) (out []float64, selected []int, scores []float64) {
	n, d := len(ups), len(ups[0])
	exact := make([]bool, d)
	for _, rg := range c.Exact {
		for i := rg.Lo; i < rg.Hi; i++ {
			exact[i] = true
		}
	}
	out = make([]float64, d)
	total := 0.0
	for _, w := range weights {
		total += w
	}
	for j := range d {
		if exact[j] {
			s := 0.0
			for u := range n {
				s += weights[u] * float64(ups[u][j])
			}
			out[j] = s / total
		}
	}
	switch c.Name {
	case Median, TrimmedMean:
		k := 0
		if c.Name == TrimmedMean {
			k = int(math.Floor(c.TrimFraction*float64(n) + 1e-9))
		}
		for j := range d {
			if exact[j] {
				continue
			}
			col := make([]float64, n)
			for u := range n {
				col[u] = float64(ups[u][j])
			}
			sort.Float64s(col)
			if c.Name == Median {
				if n%2 == 1 {
					out[j] = col[n/2]
				} else {
					out[j] = (col[n/2-1] + col[n/2]) / 2
				}
				continue
			}
			s := 0.0
			for _, x := range col[k : n-k] {
				s += x
			}
			out[j] = s / float64(n-2*k)
		}
		return out, nil, nil
	}
	// Krum / Multi-Krum.
	dist := func(a, b int) float64 {
		s := 0.0
		for j := range d {
			if !exact[j] {
				x := float64(ups[a][j]) - float64(ups[b][j])
				s += x * x
			}
		}
		return s
	}
	scores = make([]float64, n)
	for i := range n {
		var ds []float64
		for j := range n {
			if j != i {
				ds = append(ds, dist(i, j))
			}
		}
		sort.Float64s(ds)
		for _, x := range ds[:n-c.Byzantine-2] {
			scores[i] += x
		}
	}
	m := 1
	if c.Name == MultiKrum {
		m = c.MultiKrumM
		if m == 0 {
			m = n - c.Byzantine
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	selected = append([]int(nil), idx[:m]...)
	sort.Ints(selected)
	for j := range d {
		if exact[j] {
			continue
		}
		s := 0.0
		for _, u := range selected {
			s += float64(ups[u][j])
		}
		out[j] = s / float64(m)
	}
	return out, selected, scores
}

func randUpdates(rng *rand.Rand, n, d int, scale float64) [][]float32 {
	ups := make([][]float32, n)
	for u := range ups {
		ups[u] = make([]float32, d)
		for j := range ups[u] {
			ups[u][j] = float32(rng.NormFloat64() * scale)
		}
	}
	return ups
}

func dist64(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}
