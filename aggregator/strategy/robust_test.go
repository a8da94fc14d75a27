package strategy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// fill appends ups to a new spill (segment seg, sealed or not) in a test
// directory.
func fill(t testing.TB, ups [][]float32, weights []float64, seg int, sealed bool) *Spill {
	t.Helper()
	s, err := newSpill(t.TempDir(), len(ups[0]), seg, sealed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for u, up := range ups {
		if err := s.Append(up, weights[u]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func equalWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func randWeights(rng *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(1 + rng.IntN(500))
	}
	return w
}

// checkAgainstReference aggregates ups with c and compares with refRobust:
// the coordinate-wise rules and the means must agree exactly (same
// float64 operations in the same order); Krum's scores, whose sums the
// blocks reorder, to 1e-9 relative, and its selection exactly.
func checkAgainstReference(t *testing.T, label string, c RobustConfig, ups [][]float32, weights []float64, seg int, sealed bool) {
	t.Helper()
	s := fill(t, ups, weights, seg, sealed)
	out := make([]float64, len(ups[0]))
	rep, err := Aggregate(s, c, out)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	want, sel, scores := refRobust(c, ups, weights)
	for j := range out {
		if out[j] != want[j] {
			t.Fatalf("%s: out[%d] = %v, reference %v", label, j, out[j], want[j])
		}
	}
	if !slices.Equal(rep.Selected, sel) {
		t.Fatalf("%s: selected %v, reference %v", label, rep.Selected, sel)
	}
	for i := range scores {
		if math.Abs(rep.Scores[i]-scores[i]) > 1e-9*math.Max(1, scores[i]) {
			t.Fatalf("%s: score[%d] = %v, reference %v", label, i, rep.Scores[i], scores[i])
		}
	}
	if rep.Updates != len(ups) || rep.Rule != c.Name {
		t.Fatalf("%s: report %+v", label, rep)
	}
}

// TestAggregateMatchesReference runs every rule over odd and even numbers
// of updates, model sizes that do not divide the blocks or segments,
// blocks from 1 column up, segments from 1 value up, sealed and not.
func TestAggregateMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	type shape struct{ d, block, seg int }
	shapes := []shape{{1, 0, DefaultSegment}, {7, 1, 1}, {33, 2, 3}, {33, 5, 7}, {100, 7, 3}, {100, 64, 16}, {257, 0, DefaultSegment}, {257, 100, 64}}
	configs := []RobustConfig{
		{Name: Median},
		{Name: TrimmedMean, TrimFraction: 0.1},
		{Name: TrimmedMean, TrimFraction: 0.25},
		{Name: TrimmedMean, TrimFraction: 0.45},
		{Name: Krum},
		{Name: Krum, Byzantine: 1},
		{Name: Krum, Byzantine: 2},
		{Name: MultiKrum},
		{Name: MultiKrum, Byzantine: 1},
		{Name: MultiKrum, Byzantine: 1, MultiKrumM: 2},
	}
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 32, 33} { // 33: per-column sort
		for _, c := range configs {
			if c.Validate(n) != nil {
				continue
			}
			for k, sh := range shapes {
				c := c
				c.BlockSize = sh.block
				if k%2 == 1 { // exact ranges on half the shapes, clipped to d
					c.Exact = []Range{{0, min(2, sh.d)}, {sh.d / 2, sh.d/2 + min(3, sh.d-sh.d/2)}}
				}
				ups := randUpdates(rng, n, sh.d, 1)
				label := fmt.Sprintf("%s f=%d m=%d β=%v n=%d d=%d block=%d seg=%d", c.Name, c.Byzantine, c.MultiKrumM, c.TrimFraction, n, sh.d, sh.block, sh.seg)
				checkAgainstReference(t, label, c, ups, randWeights(rng, n), sh.seg, k%3 != 2)
			}
		}
	}
}

// TestAggregateTies uses data full of ties: repeated values in every
// column (median and trimmed mean with even n) and identical or
// symmetric updates, whose equal Krum scores must go to the earliest.
func TestAggregateTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []int{4, 5, 6, 9, 10} {
		ups := make([][]float32, n)
		for u := range ups {
			ups[u] = make([]float32, 29)
			for j := range ups[u] {
				ups[u][j] = float32(rng.IntN(3) - 1) // −1, 0 or 1
			}
		}
		for _, c := range []RobustConfig{{Name: Median, BlockSize: 4}, {Name: TrimmedMean, TrimFraction: 0.2, BlockSize: 3}, {Name: Krum, BlockSize: 5}, {Name: MultiKrum, MultiKrumM: 2}} {
			checkAgainstReference(t, fmt.Sprintf("ties %s n=%d", c.Name, n), c, ups, equalWeights(n), 4, true)
		}
	}
	// Identical updates: all Krum scores 0.
	same := make([][]float32, 6)
	for u := range same {
		same[u] = []float32{1, 2, 3}
	}
	s := fill(t, same, equalWeights(6), DefaultSegment, true)
	out := make([]float64, 3)
	rep, err := Aggregate(s, RobustConfig{Name: MultiKrum, Byzantine: 1, MultiKrumM: 3}, out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Selected, []int{0, 1, 2}) || !slices.Equal(out, []float64{1, 2, 3}) {
		t.Fatalf("identical updates: selected %v out %v", rep.Selected, out)
	}
	// Symmetric points 0, 0, 1, 1 (f = 0, 2 nearest): every score is 1.
	sym := [][]float32{{1}, {0}, {1}, {0}}
	s = fill(t, sym, equalWeights(4), DefaultSegment, true)
	out = make([]float64, 1)
	rep, err = Aggregate(s, RobustConfig{Name: Krum}, out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Selected, []int{0}) || out[0] != 1 || !slices.Equal(rep.Scores, []float64{1, 1, 1, 1}) {
		t.Fatalf("symmetric: %+v out %v", rep, out)
	}
}

// TestRobustAgainstAttacks: eight honest updates around a common mean and
// two colluding adversaries at random positions, who also claim ten times
// the honest example count. With honest noise σ per coordinate over d
// coordinates, the honest spread is σ√d. Every robust rule must stay
// within 1.5·σ√d of the honest mean; FedAvg (the weighted mean) is pulled
// more than 5·σ√d away by every attack.
func TestRobustAgainstAttacks(t *testing.T) {
	const (
		honest, f, d = 8, 2, 500
		sigma        = 0.1
	)
	spread := sigma * math.Sqrt(d)
	rng := rand.New(rand.NewPCG(7, 7))
	mu := make([]float64, d)
	for j := range mu {
		mu[j] = rng.NormFloat64()
	}
	attacks := []struct {
		name string
		f    func(j int, r *rand.Rand) float32
	}{
		{"huge norm", func(j int, r *rand.Rand) float32 { return float32(1e4 * r.NormFloat64()) }},
		{"sign flip", func(j int, r *rand.Rand) float32 { return float32(-10 * mu[j]) }},
		{"constant offset", func(j int, r *rand.Rand) float32 { return float32(mu[j] + 10) }},
	}
	rules := []RobustConfig{
		{Name: Median, BlockSize: 64},
		{Name: TrimmedMean, TrimFraction: 0.2, BlockSize: 64},
		{Name: Krum, Byzantine: f, BlockSize: 64},
		{Name: MultiKrum, Byzantine: f, BlockSize: 64},
	}
	for _, at := range attacks {
		name, attack := at.name, at.f
		n := honest + f
		bad := map[int]bool{}
		for len(bad) < f {
			bad[rng.IntN(n)] = true
		}
		ups := make([][]float32, n)
		weights := make([]float64, n)
		honestMean := make([]float64, d)
		for u := range ups {
			ups[u] = make([]float32, d)
			weights[u] = 100
			if bad[u] {
				weights[u] = 1000
			}
			for j := range d {
				if bad[u] {
					ups[u][j] = attack(j, rng)
				} else {
					ups[u][j] = float32(mu[j] + sigma*rng.NormFloat64())
					honestMean[j] += float64(ups[u][j]) / honest
				}
			}
		}
		fedAvg := make([]float64, d)
		total := 0.0
		for u := range ups {
			total += weights[u]
			for j := range d {
				fedAvg[j] += weights[u] * float64(ups[u][j])
			}
		}
		for j := range fedAvg {
			fedAvg[j] /= total
		}
		if got := dist64(fedAvg, honestMean); got < 5*spread {
			t.Errorf("%s: FedAvg is only %.3g from the honest mean, want ≥ %.3g", name, got, 5*spread)
		} else {
			t.Logf("%-15s fedavg        %10.4g from the honest mean (σ√d = %.3g)", name, got, spread)
		}
		for _, c := range rules {
			s := fill(t, ups, weights, DefaultSegment, true)
			out := make([]float64, d)
			rep, err := Aggregate(s, c, out)
			if err != nil {
				t.Fatal(err)
			}
			got := dist64(out, honestMean)
			t.Logf("%-15s %-13s %10.4g from the honest mean; selected %v, adversaries %v", name, c.Name, got, rep.Selected, bad)
			if got > 1.5*spread {
				t.Errorf("%s: %s is %.3g from the honest mean, want ≤ %.3g", name, c.Name, got, 1.5*spread)
			}
			for _, u := range rep.Selected {
				if bad[u] {
					t.Errorf("%s: %s selected adversary %d", name, c.Name, u)
				}
			}
		}
	}
}

func TestRobustConfigValidate(t *testing.T) {
	cases := []struct {
		c    RobustConfig
		n    int
		want string // "" = valid
	}{
		{RobustConfig{Name: Median}, 1, ""},
		{RobustConfig{Name: Median, Byzantine: 2}, 5, ""},
		{RobustConfig{Name: Median, Byzantine: 2}, 4, "byzantine: median of 4 updates"},
		{RobustConfig{Name: "fedmedian"}, 4, "strategy: must be one of median, trimmed_mean, krum, multikrum"},
		{RobustConfig{Name: Median}, 0, "at least 1 update"},
		{RobustConfig{Name: Median, TrimFraction: 0.1}, 4, "trim_fraction: 0.1 is set, but median"},
		{RobustConfig{Name: Median, BlockSize: -1}, 4, "block_size"},
		{RobustConfig{Name: Median, BlockSize: MaxBlockSize + 1}, 4, "block_size"},
		{RobustConfig{Name: Median, Byzantine: -1}, 4, "byzantine: -1"},
		{RobustConfig{Name: Median, Exact: []Range{{-1, 2}}}, 4, "exact[0]"},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.3}, 10, ""},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.5}, 10, "trim_fraction: 0.5, want 0 ≤ trim_fraction < 0.5"},
		{RobustConfig{Name: TrimmedMean, TrimFraction: math.NaN()}, 10, "trim_fraction"},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.2, Byzantine: 1}, 4, "trim_fraction: 0.2 trims 0 value(s) per side of 4 updates, fewer than byzantine = 1"},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.25, Byzantine: 1}, 4, ""},
		{RobustConfig{Name: TrimmedMean, MultiKrumM: 2}, 4, "multikrum_m: 2 is set, but trimmed_mean"},
		{RobustConfig{Name: Krum}, 3, ""},
		{RobustConfig{Name: Krum}, 2, "krum needs more than 2·byzantine + 2 = 2 updates, got 2"},
		{RobustConfig{Name: Krum, Byzantine: 1}, 4, "byzantine: krum needs more than 2·byzantine + 2 = 4 updates"},
		{RobustConfig{Name: Krum, Byzantine: 1}, 5, ""},
		{RobustConfig{Name: MultiKrum, Byzantine: 1, MultiKrumM: 4}, 5, ""},
		{RobustConfig{Name: MultiKrum, Byzantine: 1, MultiKrumM: 5}, 5, "multikrum_m: 5, want 1 to updates − byzantine = 4"},
		{RobustConfig{Name: MultiKrum, MultiKrumM: -1}, 5, "multikrum_m"},
	}
	for _, tc := range cases {
		err := tc.c.Validate(tc.n)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v n=%d: %v", tc.c, tc.n, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v n=%d: Validate = %v, want it to contain %q", tc.c, tc.n, err, tc.want)
		}
	}
}

func TestAggregateRefuses(t *testing.T) {
	ups := randUpdates(rand.New(rand.NewPCG(8, 8)), 4, 10, 1)
	s := fill(t, ups, equalWeights(4), DefaultSegment, true)
	if _, err := Aggregate(s, RobustConfig{Name: Median}, make([]float64, 9)); err == nil || !strings.Contains(err.Error(), "out holds 9 values") {
		t.Errorf("short out: %v", err)
	}
	if _, err := Aggregate(s, RobustConfig{Name: Krum, Byzantine: 1}, make([]float64, 10)); err == nil || !strings.Contains(err.Error(), "byzantine") {
		t.Errorf("too few updates for krum: %v", err)
	}
	if _, err := Aggregate(s, RobustConfig{Name: Median, Exact: []Range{{8, 11}}}, make([]float64, 10)); err == nil || !strings.Contains(err.Error(), "exact[0]") {
		t.Errorf("exact range beyond the model: %v", err)
	}
	s.Close()
	if _, err := Aggregate(s, RobustConfig{Name: Median}, make([]float64, 10)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed spill: %v", err)
	}
}

func TestMinAveraged(t *testing.T) {
	cases := []struct {
		c    RobustConfig
		n    int
		want int
	}{
		{RobustConfig{Name: Median}, 5, 1},
		{RobustConfig{Name: Median}, 6, 2},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.2}, 10, 6},
		{RobustConfig{Name: TrimmedMean, TrimFraction: 0.45}, 11, 3},
		{RobustConfig{Name: Krum, Byzantine: 1}, 7, 1},
		{RobustConfig{Name: MultiKrum, Byzantine: 1}, 7, 6},
		{RobustConfig{Name: MultiKrum, Byzantine: 1, MultiKrumM: 3}, 7, 3},
	}
	for _, tc := range cases {
		if err := tc.c.Validate(tc.n); err != nil {
			t.Fatal(err)
		}
		if got := tc.c.MinAveraged(tc.n); got != tc.want {
			t.Errorf("%+v n=%d: MinAveraged = %d, want %d", tc.c, tc.n, got, tc.want)
		}
	}
}

// TestSortingNetwork checks the networks for every size they are used at,
// on values with many ties, against slices.Sort.
func TestSortingNetwork(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	for n := 1; n <= networkMax; n++ {
		net := sortingNetwork(n)
		for _, c := range net {
			if c[0] >= c[1] || c[1] >= n {
				t.Fatalf("n=%d: comparator %v", n, c)
			}
		}
		const w = 300
		rows := make([][]float32, n)
		for i := range rows {
			rows[i] = make([]float32, w)
			for j := range rows[i] {
				rows[i][j] = float32(rng.IntN(n/2 + 2))
			}
		}
		cols := make([][]float32, w)
		for j := range cols {
			for i := range n {
				cols[j] = append(cols[j], rows[i][j])
			}
			slices.Sort(cols[j])
		}
		for _, c := range net {
			compareExchange(rows[c[0]], rows[c[1]])
		}
		for j := range cols {
			for i := range n {
				if rows[i][j] != cols[j][i] {
					t.Fatalf("n=%d (%d comparators): column %d not sorted", n, len(net), j)
				}
			}
		}
	}
}
