package aggregator

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// collect appends what a decoder hands on, checking it comes in order.
func collect[T any](t *testing.T, dst *[]T) func(int, []T) error {
	return func(lo int, v []T) error {
		if lo != len(*dst) {
			t.Fatalf("coordinates handed on at %d, want %d", lo, len(*dst))
		}
		*dst = append(*dst, v...)
		return nil
	}
}

// decodeAll feeds enc to a decoder in pieces of the given sizes (cycled)
// and returns what it handed on.
func decodeAll(t *testing.T, kind confedv1.PartialKind, enc []byte, pieces []int) (sumVec, [32]byte, error) {
	t.Helper()
	var out sumVec
	dec, err := newPartialDecoder(kind, int64(len(enc)), sinks{f64: collect(t, &out.f64), u32: collect(t, &out.u32), u64: collect(t, &out.u64)})
	if err != nil {
		return out, [32]byte{}, err
	}
	for i := 0; len(enc) > 0; i++ {
		n := min(pieces[i%len(pieces)], len(enc))
		if err := dec.Write(enc[:n]); err != nil {
			return out, [32]byte{}, err
		}
		enc = enc[n:]
	}
	sum, err := dec.Close()
	return out, sum, err
}

func encodeVec(v sumVec, readSize int) []byte {
	r := newVecReader(v)
	var out bytes.Buffer
	buf := make([]byte, readSize)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes()
		}
	}
}

func TestPartialCodecRoundTrip(t *testing.T) {
	f64 := []float64{0, -1.5, math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64, -0.0, 1e-300}
	u32 := []uint32{0, 1, math.MaxUint32, 1 << 31, 12345}
	u64 := []uint64{0, 1, math.MaxUint64, 1 << 63, 1 << 40}
	for _, read := range []int{1, 3, 7, 8, 9, 4096} {
		for _, pieces := range [][]int{{1}, {3, 5}, {7}, {8}, {13, 1, 2}, {1 << 20}} {
			for _, v := range []sumVec{{f64: f64}, {u32: u32}, {u64: u64}} {
				enc := encodeVec(v, read)
				got, sum, err := decodeAll(t, v.kind(), enc, pieces)
				want, n := hashVec(v)
				if err != nil || !slices.Equal(bitsOf(got.f64), bitsOf(v.f64)) || !slices.Equal(got.u32, v.u32) || !slices.Equal(got.u64, v.u64) ||
					sum != want || n != int64(len(enc)) || sum != sha256.Sum256(enc) {
					t.Errorf("%v, reads of %d, pieces %v: got %v (err %v), want %v", v.kind(), read, pieces, got, err, v)
				}
			}
		}
	}
}

func bitsOf(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}

func TestPartialDecoderRefuses(t *testing.T) {
	f64 := []float64{1, 2, 3}
	enc := encodeVec(sumVec{f64: f64}, 64)
	noop := sinks{f64: func(int, []float64) error { return nil }}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"truncated", func() error {
			d, _ := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_FLOAT64, int64(len(enc)), noop)
			if err := d.Write(enc[:len(enc)-3]); err != nil {
				return err
			}
			_, err := d.Close()
			return err
		}, "truncated: 21 of 24 bytes"},
		{"too long", func() error {
			d, _ := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_FLOAT64, int64(len(enc)-8), noop)
			return d.Write(enc)
		}, "longer than its header declares"},
		{"partial coordinate", func() error {
			_, err := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_RING32, 10, sinks{})
			return err
		}, "not a whole number of 4-byte coordinates"},
		{"unknown kind", func() error {
			_, err := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_UNSPECIFIED, 8, noop)
			return err
		}, "unknown partial kind"},
		{"no sink of the kind", func() error {
			_, err := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_RING64, 8, noop)
			return err
		}, "no sink for a PARTIAL_KIND_RING64 partial"},
		{"sink refuses", func() error {
			d, _ := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_FLOAT64, int64(len(enc)),
				sinks{f64: func(int, []float64) error { return errors.New("not finite") }})
			return d.Write(enc)
		}, "not finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// treeUpdates are n seeded updates of size p with weights.
func treeUpdates(n, p int) ([][]float32, []uint64) {
	rng := rand.New(rand.NewPCG(7, 11))
	ups := make([][]float32, n)
	ws := make([]uint64, n)
	for i := range ups {
		ups[i] = make([]float32, p)
		for j := range ups[i] {
			ups[i][j] = float32(rng.Float64()*2 - 1)
		}
		ws[i] = uint64(5 + 17*i)
	}
	return ups, ws
}

func flatSpec(t *testing.T, n int) model.Spec {
	t.Helper()
	spec := model.Spec{{Name: "w", Shape: []int{n}}}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestCombineFloatPartials: the root's mean of two leaves' float64 sums,
// streamed in pieces, equals one accumulator's mean of all the updates
// within float64 rounding, with the same count and total weight.
func TestCombineFloatPartials(t *testing.T) {
	const p = 1000
	spec := flatSpec(t, p)
	ups, ws := treeUpdates(5, p)
	single, leafA, leafB, root := fedavg.NewAccumulator(spec), fedavg.NewAccumulator(spec), fedavg.NewAccumulator(spec), fedavg.NewAccumulator(spec)
	for i, u := range ups {
		leaf := leafA
		if i >= 2 {
			leaf = leafB
		}
		for _, acc := range []*fedavg.Accumulator{single, leaf} {
			if err := acc.Add(slices.Clone(u), float64(ws[i])); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, leaf := range []*fedavg.Accumulator{leafA, leafB} {
		sum, count, total, err := leaf.TakeSum()
		if err != nil {
			t.Fatal(err)
		}
		_, err = decodeAllInto(encodeVec(sumVec{f64: sum}, 4096), func(lo int, v []float64) error { return root.AddSumAt(lo, v) })
		if err != nil {
			t.Fatal(err)
		}
		if err := root.AddPartialCount(count, total); err != nil {
			t.Fatal(err)
		}
	}
	if root.Count() != single.Count() || root.TotalWeight() != single.TotalWeight() {
		t.Fatalf("root counts %d updates of weight %v, single %d of %v", root.Count(), root.TotalWeight(), single.Count(), single.TotalWeight())
	}
	a, err := single.TakeMean()
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.TakeMean()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		// The two sums of n = 5 terms differ only in their order of
		// addition, so by at most 2(n−1)·u·Σ|wᵢvᵢ| (u = 2⁻⁵³), plus the
		// division's rounding: 2⁻⁴⁹ of the mean of the magnitudes bounds it.
		var abs, total float64
		for j, u := range ups {
			abs += float64(ws[j]) * math.Abs(float64(u[i]))
			total += float64(ws[j])
		}
		if d := math.Abs(a[i] - b[i]); d > 0x1p-49*abs/total {
			t.Fatalf("coordinate %d: single %v, tree %v (differ by %g, bound %g)", i, a[i], b[i], d, 0x1p-49*abs/total)
		}
	}
	if _, _, _, err := leafA.TakeSum(); err == nil {
		t.Error("TakeSum of a spent accumulator succeeded")
	}
	if err := root.AddSumAt(0, []float64{math.NaN()}); err == nil {
		t.Error("AddSumAt took NaN")
	}
}

func decodeAllInto(enc []byte, f64 func(int, []float64) error) ([32]byte, error) {
	dec, err := newPartialDecoder(confedv1.PartialKind_PARTIAL_KIND_FLOAT64, int64(len(enc)), sinks{f64: f64})
	if err != nil {
		return [32]byte{}, err
	}
	for len(enc) > 0 {
		n := min(1000, len(enc)) // pieces that split coordinates
		if err := dec.Write(enc[:n]); err != nil {
			return [32]byte{}, err
		}
		enc = enc[n:]
	}
	return dec.Close()
}

// TestCombineRingPartials: the root's ring sum of two leaves' partials is
// bit for bit one Sum32 of all the quantised updates, and so is its mean;
// a partial beyond what its weights allow, or beyond MaxParticipants, is
// refused.
func TestCombineRingPartials(t *testing.T) {
	const p = 777
	ups, ws := treeUpdates(4, p)
	params := fixedpoint.Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 4}
	newSum := func() *fixedpoint.Sum32 {
		s, err := fixedpoint.NewSum32(p, params)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	single, root := newSum(), newSum()
	leaves := []*fixedpoint.Sum32{newSum(), newSum()}
	var leafWeights [2][]uint64
	for i, u := range ups {
		q := make([]uint32, p)
		var seed [32]byte
		seed[0] = byte(i)
		if err := fixedpoint.Quantise32(q, u, ws[i], params, rand.NewChaCha8(seed)); err != nil {
			t.Fatal(err)
		}
		if err := single.Add(q, ws[i]); err != nil {
			t.Fatal(err)
		}
		if err := leaves[i%2].Add(q, ws[i]); err != nil {
			t.Fatal(err)
		}
		leafWeights[i%2] = append(leafWeights[i%2], ws[i])
	}
	for i, leaf := range leaves {
		raw, count, total := leaf.TakeRaw()
		bound, err := params.PartialBound(leafWeights[i])
		if err != nil {
			t.Fatal(err)
		}
		for lo := 0; lo < p; lo += 100 {
			if err := root.AddRawAt(lo, raw[lo:min(lo+100, p)], bound); err != nil {
				t.Fatal(err)
			}
		}
		if err := root.AddPartialCount(count, total); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(root.Raw(), single.Raw()) || root.Count() != 4 || root.TotalWeight() != single.TotalWeight() {
		t.Fatal("the root's ring sum is not the single sum")
	}
	a, b := make([]float64, p), make([]float64, p)
	if err := single.MeanFloat64(a); err != nil {
		t.Fatal(err)
	}
	if err := root.MeanFloat64(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bitsOf(a), bitsOf(b)) {
		t.Error("the root's mean differs from the single mean")
	}
	small, _ := params.PartialBound([]uint64{1})
	if err := newSum().AddRawAt(0, []uint32{uint32(small + 1)}, small); !errors.Is(err, fixedpoint.ErrOutOfRange) {
		t.Errorf("element beyond the partial's bound: got %v, want ErrOutOfRange", err)
	}
	if err := root.AddPartialCount(1, 1); !errors.Is(err, fixedpoint.ErrFull) {
		t.Errorf("a fifth update in a sum of at most 4: got %v, want ErrFull", err)
	}
	if _, err := params.PartialBound([]uint64{1001}); !errors.Is(err, fixedpoint.ErrBadWeight) {
		t.Errorf("weight beyond MaxWeight: got %v, want ErrBadWeight", err)
	}
}

// TestCombineRing64Partials is TestCombineRingPartials in the 64-bit ring.
func TestCombineRing64Partials(t *testing.T) {
	const p = 301
	ups, ws := treeUpdates(3, p)
	params := fixedpoint.Params{Bits: 64, Clip: 1, Scale: 1 << 30, MaxWeight: 1000, MaxParticipants: 3}
	newSum := func() *fixedpoint.Sum64 {
		s, err := fixedpoint.NewSum64(p, params)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	single, root, leafA, leafB := newSum(), newSum(), newSum(), newSum()
	for i, u := range ups {
		q := make([]uint64, p)
		var seed [32]byte
		seed[0] = byte(i)
		if err := fixedpoint.Quantise64(q, u, ws[i], params, rand.NewChaCha8(seed)); err != nil {
			t.Fatal(err)
		}
		leaf := leafA
		if i == 2 {
			leaf = leafB
		}
		for _, s := range []*fixedpoint.Sum64{single, leaf} {
			if err := s.Add(q, ws[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, leaf := range []*fixedpoint.Sum64{leafA, leafB} {
		raw, count, total := leaf.TakeRaw()
		bound, err := params.PartialBound(map[int][]uint64{0: ws[:2], 1: ws[2:]}[i])
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeAll(t, confedv1.PartialKind_PARTIAL_KIND_RING64, encodeVec(sumVec{u64: raw}, 4096), []int{1000})
		if err != nil {
			t.Fatal(err)
		}
		if err := root.AddRawAt(0, got.u64, bound); err != nil {
			t.Fatal(err)
		}
		if err := root.AddPartialCount(count, total); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(root.Raw(), single.Raw()) || root.Count() != 3 || root.TotalWeight() != single.TotalWeight() {
		t.Fatal("the root's 64-bit ring sum is not the single sum")
	}
}

func TestCheckPartialHeader(t *testing.T) {
	global := sha256.Sum256([]byte("global"))
	upd := sha256.Sum256([]byte("update"))
	valid := func() *confedv1.PartialHeader {
		return &confedv1.PartialHeader{Round: 3, BaseModelSha256: global[:], Kind: confedv1.PartialKind_PARTIAL_KIND_RING32,
			Size: 4 * 10, PartialSha256: upd[:], SealedStream: []byte{1},
			Contributions: []*confedv1.PartialContribution{{Participant: "a", NumExamples: 5, UpdateSha256: upd[:]}, {Participant: "b", NumExamples: 7, UpdateSha256: upd[:]}}}
	}
	tests := []struct {
		name   string
		change func(*confedv1.PartialHeader)
		want   string
	}{
		{"valid", func(*confedv1.PartialHeader) {}, ""},
		{"other base model", func(h *confedv1.PartialHeader) { h.BaseModelSha256 = upd[:] }, "round 3 starts from"},
		{"other kind", func(h *confedv1.PartialHeader) { h.Kind = confedv1.PartialKind_PARTIAL_KIND_FLOAT64 }, "partial is PARTIAL_KIND_FLOAT64, round 3 sums PARTIAL_KIND_RING32"},
		{"wrong size", func(h *confedv1.PartialHeader) { h.Size = 80 }, "partial declares 80 bytes, a sum of this model has 40"},
		{"no hash", func(h *confedv1.PartialHeader) { h.PartialSha256 = nil }, "partial SHA-256 has 0 bytes"},
		{"not sealed", func(h *confedv1.PartialHeader) { h.SealedStream = nil }, "not sealed"},
		{"empty", func(h *confedv1.PartialHeader) { h.Contributions = nil }, "no contributions"},
		{"outside the shard", func(h *confedv1.PartialHeader) { h.Contributions[1].Participant = "z" }, `"z", who is not in the leaf's shard`},
		{"twice", func(h *confedv1.PartialHeader) { h.Contributions[1].Participant = "a" }, `"a" twice`},
		{"no examples", func(h *confedv1.PartialHeader) { h.Contributions[0].NumExamples = 0 }, "num_examples 0"},
		{"bad update hash", func(h *confedv1.PartialHeader) { h.Contributions[0].UpdateSha256 = []byte{1} }, "a hash of 1 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := valid()
			tt.change(h)
			err := checkPartialHeader(h, global[:], confedv1.PartialKind_PARTIAL_KIND_RING32, 10, []string{"a", "b", "c"})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestTreeCombined checks the root's final check of the partials against
// the coordinator's include lists.
func TestTreeCombined(t *testing.T) {
	contrib := func(p string) *confedv1.Contribution { return &confedv1.Contribution{Participant: p, NumExamples: 1} }
	partial := func(ps ...string) *leafPartial {
		lp := &leafPartial{record: &confedv1.TreeLeafRecord{Participants: ps}}
		for _, p := range ps {
			lp.contributions = append(lp.contributions, contrib(p))
		}
		return lp
	}
	task := &confedv1.TreeTask{Role: confedv1.TreeRole_TREE_ROLE_ROOT, Leaves: []*confedv1.TreeLeaf{{Name: "l1"}, {Name: "l2"}}}
	tests := []struct {
		name     string
		partials map[string]*leafPartial
		want     map[string][]string
		include  []string
		err      string
	}{
		{"matches", map[string]*leafPartial{"l1": partial("a", "b"), "l2": partial("c")},
			map[string][]string{"l1": {"a", "b"}, "l2": {"c"}}, []string{"a", "b", "c"}, ""},
		{"leaf holds another set", map[string]*leafPartial{"l1": partial("a"), "l2": partial("c")},
			map[string][]string{"l1": {"a", "b"}, "l2": {"c"}}, []string{"a", "b", "c"}, `leaf "l1" holds [a], the coordinator included [a b]`},
		{"leaf without includes sent one", map[string]*leafPartial{"l1": partial("a", "b"), "l2": partial("c")},
			map[string][]string{"l1": {"a", "b"}}, []string{"a", "b"}, `leaf "l2" holds [c], the coordinator included []`},
		{"included but held by none", map[string]*leafPartial{"l1": partial("a", "b")},
			map[string][]string{"l1": {"a", "b"}}, []string{"a", "b", "c"}, `included "c", whom no leaf's partial holds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &treeRound{task: task, partials: tt.partials}
			got, recs, err := r.combined(tt.want, tt.include)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.GetParticipant())
			}
			if !slices.Equal(names, tt.include) || len(recs) != len(tt.partials) {
				t.Errorf("contributions %v and %d records, want %v and %d", names, len(recs), tt.include, len(tt.partials))
			}
		})
	}
}

// FuzzPartialDecoder feeds arbitrary bytes, in arbitrary pieces, to the
// partial decoder: it never panics, never hands on more coordinates than
// the declared size holds, and accepts a stream only when every declared
// byte arrived.
func FuzzPartialDecoder(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(3), uint16(12), uint8(2))
	f.Add(encodeVec(sumVec{f64: []float64{1, 2}}, 8), uint8(5), uint16(16), uint8(1))
	f.Add(encodeVec(sumVec{u64: []uint64{1, 2}}, 8), uint8(7), uint16(16), uint8(3))
	f.Add([]byte{}, uint8(1), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, piece uint8, size uint16, k uint8) {
		kind := confedv1.PartialKind(k % 4) // including UNSPECIFIED, refused
		handed := 0
		dec, err := newPartialDecoder(kind, int64(size), sinks{
			f64: func(lo int, v []float64) error { handed += len(v); return nil },
			u32: func(lo int, v []uint32) error { handed += len(v); return nil },
			u64: func(lo int, v []uint64) error { handed += len(v); return nil }})
		if err != nil {
			return
		}
		step := int(piece)%64 + 1
		var werr error
		for rest := data; len(rest) > 0 && werr == nil; rest = rest[min(step, len(rest)):] {
			werr = dec.Write(rest[:min(step, len(rest))])
		}
		elem, _ := partialElemSize(kind)
		if handed*elem > int(size) {
			t.Fatalf("handed on %d coordinates of %d bytes, beyond the declared %d", handed, elem, size)
		}
		_, cerr := dec.Close()
		if werr == nil && cerr == nil && (len(data) != int(size) || handed*elem != int(size)) {
			t.Fatalf("accepted %d bytes (%d coordinates) for a declared %d", len(data), handed, size)
		}
	})
}
