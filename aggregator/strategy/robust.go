package strategy

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Robust aggregation rule names (RobustConfig.Name).
const (
	Median      = "median"
	TrimmedMean = "trimmed_mean"
	Krum        = "krum"
	MultiKrum   = "multikrum"
)

// RobustNames lists the robust rules, in documentation order.
var RobustNames = []string{Median, TrimmedMean, Krum, MultiKrum}

// Block sizes, in columns (parameters) per block.
const (
	// DefaultBlockSize is used when RobustConfig.BlockSize is 0: 16384
	// columns, 64 KiB of float32 per update per block.
	DefaultBlockSize = 16384
	// MaxBlockSize bounds RobustConfig.BlockSize (16 MiB per update).
	MaxBlockSize = 1 << 22
)

// RobustConfig selects a Byzantine-robust aggregation rule. The rules are
// unweighted, as in the papers: every update counts once, whatever its
// example count, since a faulty or malicious member controls the count it
// declares as much as its update.
//
//	median        coordinate-wise median (Yin et al. 2018); for an even
//	              number of updates the mean of the two middle values
//	trimmed_mean  coordinate-wise β-trimmed mean (Yin et al. 2018): per
//	              coordinate drop the k = ⌊β·n⌋ largest and k smallest
//	              values and average the n − 2k left
//	krum          the update whose summed squared distance to its n − f − 2
//	              nearest others is smallest (Blanchard et al. 2017);
//	              needs n > 2f + 2; ties go to the earliest update
//	multikrum     the unweighted mean of the m updates with the best Krum
//	              scores (scores computed once, as in Blanchard et al. and
//	              Flower); m defaults to n − f
//
// Exact coordinates are not aggregated robustly: they get the
// example-weighted mean of all updates, as FedAvg would give, and Krum's
// distances leave them out. That is what the model's feature statistics
// (input_mean, input_sq_mean) need to be the pooled moments — and it means
// a malicious member can still skew those coordinates.
type RobustConfig struct {
	Name string // median | trimmed_mean | krum | multikrum
	// TrimFraction is β (trim_fraction), 0 ≤ β < 0.5. trimmed_mean only.
	TrimFraction float64
	// Byzantine is f (byzantine), the number of faulty updates to
	// tolerate, ≥ 0. Krum and Multi-Krum use it; for median and
	// trimmed_mean Validate checks that the rule can tolerate it.
	Byzantine int
	// MultiKrumM is m (multikrum_m), 0 meaning n − f. multikrum only.
	MultiKrumM int
	// BlockSize is the number of columns processed at a time (block_size);
	// 0 means DefaultBlockSize. Aggregate rounds it up to a multiple of the
	// spill's segment (DefaultSegment values) and down to the model size.
	// Memory is O(updates × BlockSize).
	BlockSize int
	// Exact lists coordinates aggregated by the example-weighted mean.
	Exact []Range
}

// Validate checks c for a round with the given number of updates, naming
// the offending key (strategy, trim_fraction, byzantine, multikrum_m,
// block_size, exact) as in the round configuration. Exact ranges are
// checked against the model size by Aggregate.
func (c RobustConfig) Validate(participants int) error {
	if !slices.Contains(RobustNames, c.Name) {
		return fmt.Errorf("strategy: must be one of %s, got %q", strings.Join(RobustNames, ", "), c.Name)
	}
	if participants < 1 {
		return fmt.Errorf("strategy: %s needs at least 1 update, got %d", c.Name, participants)
	}
	if c.BlockSize < 0 || c.BlockSize > MaxBlockSize {
		return fmt.Errorf("block_size: %d, want 0 (default %d) to %d", c.BlockSize, DefaultBlockSize, MaxBlockSize)
	}
	if c.Byzantine < 0 {
		return fmt.Errorf("byzantine: %d, want ≥ 0", c.Byzantine)
	}
	if c.Name != TrimmedMean && c.TrimFraction != 0 {
		return fmt.Errorf("trim_fraction: %v is set, but %s does not use trim_fraction", c.TrimFraction, c.Name)
	}
	if c.Name != MultiKrum && c.MultiKrumM != 0 {
		return fmt.Errorf("multikrum_m: %d is set, but %s does not use multikrum_m", c.MultiKrumM, c.Name)
	}
	for i, r := range c.Exact {
		if r.Lo < 0 || r.Hi < r.Lo {
			return fmt.Errorf("exact[%d]: [%d, %d) is not a range", i, r.Lo, r.Hi)
		}
	}
	n, f := participants, c.Byzantine
	switch c.Name {
	case Median:
		if f > 0 && n <= 2*f {
			return fmt.Errorf("byzantine: median of %d updates tolerates fewer than half faulty, got byzantine = %d (needs updates > 2·byzantine)", n, f)
		}
	case TrimmedMean:
		if !(c.TrimFraction >= 0 && c.TrimFraction < 0.5) {
			return fmt.Errorf("trim_fraction: %v, want 0 ≤ trim_fraction < 0.5", c.TrimFraction)
		}
		if k := trimCount(c.TrimFraction, n); k < f {
			return fmt.Errorf("trim_fraction: %v trims %d value(s) per side of %d updates, fewer than byzantine = %d", c.TrimFraction, k, n, f)
		}
	case Krum, MultiKrum:
		if n <= 2*f+2 {
			return fmt.Errorf("byzantine: %s needs more than 2·byzantine + 2 = %d updates, got %d", c.Name, 2*f+2, n)
		}
		if c.Name == MultiKrum {
			if m := c.MultiKrumM; m < 0 || m > n-f {
				return fmt.Errorf("multikrum_m: %d, want 1 to updates − byzantine = %d (0 means %d)", m, n-f, n-f)
			}
		}
	}
	return nil
}

// MinAveraged returns the fewest updates whose values are averaged into
// any one coordinate of the aggregate, for a valid c with the given number
// of updates: 1 for Krum (the aggregate is one participant's update) and
// for the median of an odd number (each coordinate is one participant's
// value), 2 for the median of an even number, n − 2k for the trimmed mean,
// m for Multi-Krum. The aggregator's min_updates guard exists because an
// aggregate of fewer than min_updates updates reveals individual updates;
// the caller should compare min_updates with this, not with the number of
// updates. (Exact coordinates average all updates and are not counted.)
func (c RobustConfig) MinAveraged(participants int) int {
	n := participants
	switch c.Name {
	case Median:
		return 2 - n%2
	case TrimmedMean:
		return n - 2*trimCount(c.TrimFraction, n)
	case MultiKrum:
		return cmp.Or(c.MultiKrumM, n-c.Byzantine)
	}
	return 1
}

// trimCount is ⌊β·n⌋, with a small allowance for β not being exact in
// binary (0.3·10 is 3, not 2).
func trimCount(beta float64, n int) int {
	return int(math.Floor(beta*float64(n) + 1e-9))
}

// Report describes what Aggregate did.
type Report struct {
	Rule      string
	Updates   int // number of updates aggregated
	BlockSize int // columns per block, as used (see RobustConfig.BlockSize)
	// Trimmed is the number of values dropped from each side of every
	// coordinate (trimmed_mean).
	Trimmed int
	// Selected are the indexes (in Append order, ascending) of the updates
	// Krum or Multi-Krum averaged; nil for the coordinate-wise rules.
	Selected []int
	// Scores are the Krum scores of every update (krum, multikrum): the sum
	// of squared distances to its n − f − 2 nearest others.
	Scores []float64
	// BytesRead is the number of bytes read from the spill file.
	BytesRead int64
}

// Aggregate computes the robust aggregate of the updates in s into out
// (len s.Params()), a column block at a time. It holds s's lock throughout,
// so nothing can be appended meanwhile. Memory is the block buffers
// (updates × block float32), an updates × updates matrix for Krum, and a
// few block-sized scratch slices, never updates × parameters; out is the
// caller's. Every update is read in full in every pass, whatever the
// values, so the host learns nothing from the file's access pattern (Krum's
// choice included). On error, out holds partial results.
func Aggregate(s *Spill, c RobustConfig, out []float64) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Report{}, errors.New("strategy: aggregate: spill is closed")
	}
	nUpd := len(s.weights)
	if err := c.Validate(nUpd); err != nil {
		return Report{}, fmt.Errorf("strategy: aggregate: %w", err)
	}
	if len(out) != s.n {
		return Report{}, fmt.Errorf("strategy: aggregate: out holds %d values, updates have %d", len(out), s.n)
	}
	exact, err := normalizeRanges("exact", c.Exact, s.n)
	if err != nil {
		return Report{}, fmt.Errorf("strategy: aggregate: %w", err)
	}
	a := &aggregation{
		s: s, cfg: c, nUpd: nUpd, exact: exact,
		block: cmp.Or(c.BlockSize, DefaultBlockSize),
	}
	// Whole segments per block: a block boundary inside a segment would
	// read and decrypt that segment twice.
	a.block = min((a.block+s.seg-1)/s.seg*s.seg, s.n)
	a.rows = make([]float32, nUpd*a.block)
	a.col = make([]float64, nUpd)
	a.r = newBlockReader(s, a.block)
	for _, w := range s.weights {
		a.total += w
	}
	rep := Report{Rule: c.Name, Updates: nUpd, BlockSize: a.block}
	switch c.Name {
	case Median, TrimmedMean:
		k := 0
		if c.Name == TrimmedMean {
			k = trimCount(c.TrimFraction, nUpd)
			rep.Trimmed = k
		}
		err = a.coordinatewise(out, k)
	case Krum, MultiKrum:
		m := 1
		if c.Name == MultiKrum {
			m = cmp.Or(c.MultiKrumM, nUpd-c.Byzantine)
		}
		rep.Selected, rep.Scores, err = a.krum(out, m)
	}
	rep.BytesRead = a.r.bytesRead
	return rep, err
}

// aggregation is the working state of one Aggregate call.
type aggregation struct {
	s     *Spill
	cfg   RobustConfig
	nUpd  int
	exact []Range
	block int
	rows  []float32 // nUpd rows of block values: rows[u*block+j]
	col   []float64 // one column's values
	r     *blockReader
	total float64 // sum of weights
}

// load reads columns [lo, hi) of every update into rows.
func (a *aggregation) load(lo, hi int) error {
	w := hi - lo
	for u := range a.nUpd {
		if err := a.r.read(u, lo, hi, a.rows[u*a.block:u*a.block+w]); err != nil {
			return err
		}
	}
	return nil
}

// weightedMean writes the example-weighted mean of columns [lo, hi) (block
// offsets from base) into out, in Append order like fedavg's accumulator.
func (a *aggregation) weightedMean(out []float64, base, lo, hi int) {
	for j := lo; j < hi; j++ {
		sum := 0.0
		for u := range a.nUpd {
			sum += a.s.weights[u] * float64(a.rows[u*a.block+j-base])
		}
		out[j] = sum / a.total
	}
}

// coordinatewise runs the median (k = 0 and cfg.Name median) or the
// k-trimmed mean.
//
// Up to networkMax updates, each block's rows are sorted column by column
// all at once by a sorting network of element-wise min/max over whole rows
// (branch-free, about 4 times faster than sorting each column of 10); then
// row i holds every column's i-th smallest value. Beyond, each column is
// gathered and sorted. Either way the sorted values are the same, so are
// the results.
func (a *aggregation) coordinatewise(out []float64, k int) error {
	n := a.nUpd
	median := a.cfg.Name == Median
	var net [][2]int
	if n <= networkMax {
		net = sortingNetwork(n)
	}
	for lo := 0; lo < a.s.n; lo += a.block {
		hi := min(lo+a.block, a.s.n)
		if err := a.load(lo, hi); err != nil {
			return err
		}
		segments(a.exact, lo, hi, func(slo, shi int, exact bool) {
			if exact {
				a.weightedMean(out, lo, slo, shi)
				return
			}
			if net != nil {
				a.networkRule(out[slo:shi], net, slo-lo, shi-lo, k)
				return
			}
			for j := slo; j < shi; j++ {
				col := a.col
				for u := range n {
					col[u] = float64(a.rows[u*a.block+j-lo])
				}
				slices.Sort(col)
				if median {
					if n%2 == 1 {
						out[j] = col[n/2]
					} else {
						out[j] = (col[n/2-1] + col[n/2]) / 2
					}
					continue
				}
				sum := 0.0
				for _, x := range col[k : n-k] {
					sum += x
				}
				out[j] = sum / float64(n-2*k)
			}
		})
	}
	return nil
}

// networkRule sorts columns [a0, a1) of the block's rows in place with
// net (the exact columns of the block are outside that range) and writes
// their median or k-trimmed mean into out, summing whole rows at a time in
// the same order as a per-column sum would.
func (a *aggregation) networkRule(out []float64, net [][2]int, a0, a1, k int) {
	n := a.nUpd
	row := func(i int) []float32 { return a.rows[i*a.block+a0 : i*a.block+a1] }
	for _, c := range net {
		compareExchange(row(c[0]), row(c[1]))
	}
	if a.cfg.Name == Median {
		mid := row(n / 2)
		if n%2 == 1 {
			for j, x := range mid {
				out[j] = float64(x)
			}
			return
		}
		below := row(n/2 - 1)
		for j, x := range mid {
			out[j] = (float64(below[j]) + float64(x)) / 2
		}
		return
	}
	clear(out)
	for i := k; i < n-k; i++ {
		for j, x := range row(i) {
			out[j] += float64(x)
		}
	}
	kept := float64(n - 2*k)
	for j := range out {
		out[j] /= kept
	}
}

// networkMax is the largest number of updates sorted by a network: 191
// comparators for 32, against about 32·log₂32 = 160 comparisons per column
// for a sort, beyond which the network stops paying.
const networkMax = 32

// sortingNetwork returns the comparators (i < j: min to i, max to j) of
// Batcher's odd–even merge sort for n wires, built for the next power of
// two with the comparators that touch a wire ≥ n dropped. That is still a
// sorting network for n: think of the missing wires as holding +∞, which no
// comparator ever moves below wire n.
func sortingNetwork(n int) [][2]int {
	p2 := 1
	for p2 < n {
		p2 *= 2
	}
	var out [][2]int
	for p := 1; p < p2; p *= 2 {
		for k := p; k >= 1; k /= 2 {
			for j := k % p; j+k < p2; j += 2 * k {
				for i := range min(k, p2-j-k) {
					if (i+j)/(2*p) == (i+j+k)/(2*p) && i+j+k < n {
						out = append(out, [2]int{i + j, i + j + k})
					}
				}
			}
		}
	}
	return out
}

// compareExchange leaves the element-wise minimum of a and b in a and the
// maximum in b (equal lengths; the values are finite, the spill refuses
// others).
func compareExchange(a, b []float32) {
	b = b[:len(a)]
	for i, x := range a {
		y := b[i]
		a[i] = min(x, y)
		b[i] = max(x, y)
	}
}

// krum scores every update, selects the m best and writes their unweighted
// mean into out (exact ranges: the weighted mean of all).
func (a *aggregation) krum(out []float64, m int) (selected []int, scores []float64, err error) {
	n := a.nUpd
	// Pass 1: pairwise squared distances, accumulated over column blocks.
	dist := make([]float64, n*n) // upper triangle used: dist[i*n+j], i < j
	for lo := 0; lo < a.s.n; lo += a.block {
		hi := min(lo+a.block, a.s.n)
		if err := a.load(lo, hi); err != nil {
			return nil, nil, err
		}
		segments(a.exact, lo, hi, func(slo, shi int, exact bool) {
			if exact {
				return
			}
			for i := range n {
				ri := a.rows[i*a.block+slo-lo : i*a.block+shi-lo]
				for j := i + 1; j < n; j++ {
					rj := a.rows[j*a.block+slo-lo : j*a.block+shi-lo]
					dist[i*n+j] += squaredDistance(ri, rj)
				}
			}
		})
	}
	// Scores: sum of the n − f − 2 smallest distances to the others.
	near := n - a.cfg.Byzantine - 2
	scores = make([]float64, n)
	others := make([]float64, 0, n-1)
	for i := range n {
		others = others[:0]
		for j := range n {
			switch {
			case j < i:
				others = append(others, dist[j*n+i])
			case j > i:
				others = append(others, dist[i*n+j])
			}
		}
		sortFloats(others)
		for _, d := range others[:near] {
			scores[i] += d
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(scores[x], scores[y]) })
	selected = slices.Clone(order[:m])
	slices.Sort(selected)
	// Pass 2: the mean of the selected updates. Every update is read so
	// that the file's access pattern does not reveal the selection.
	fm := float64(m)
	for lo := 0; lo < a.s.n; lo += a.block {
		hi := min(lo+a.block, a.s.n)
		if err := a.load(lo, hi); err != nil {
			return nil, nil, err
		}
		segments(a.exact, lo, hi, func(slo, shi int, exact bool) {
			if exact {
				a.weightedMean(out, lo, slo, shi)
				return
			}
			for j := slo; j < shi; j++ {
				sum := 0.0
				for _, u := range selected {
					sum += float64(a.rows[u*a.block+j-lo])
				}
				out[j] = sum / fm
			}
		})
	}
	return selected, scores, nil
}

// squaredDistance returns Σ (x[i] − y[i])² in float64 (equal lengths),
// with four partial sums so that the additions need not wait for one
// another; the order is fixed, so is the result.
func squaredDistance(x, y []float32) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0 := float64(x[i]) - float64(y[i])
		d1 := float64(x[i+1]) - float64(y[i+1])
		d2 := float64(x[i+2]) - float64(y[i+2])
		d3 := float64(x[i+3]) - float64(y[i+3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - float64(y[i])
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sortFloats sorts a in increasing order: insertion sort for the short
// columns of a typical federation, slices.Sort beyond.
func sortFloats(a []float64) {
	if len(a) > 24 {
		slices.Sort(a)
		return
	}
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i - 1
		for j >= 0 && a[j] > x {
			a[j+1] = a[j]
			j--
		}
		a[j+1] = x
	}
}
