package heartdisease

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"
)

// splitStream is the PCG stream used by Split, so that the same seed gives
// unrelated sequences in different packages.
const splitStream = 0x68656172742d7370 // "heart-sp"

// Split divides ds into a training and a test set, stratified by label: for each
// label, round(testFraction × count) examples, chosen by a shuffle seeded with seed,
// go to the test set. Both sets keep the original order of the examples. The same
// dataset, fraction and seed always give the same split. testFraction must be in
// (0, 1) and both sets must end up non-empty.
func Split(ds Dataset, testFraction float64, seed uint64) (train, test Dataset, err error) {
	if err := ds.Validate(); err != nil {
		return Dataset{}, Dataset{}, fmt.Errorf("split: %w", err)
	}
	if !(testFraction > 0 && testFraction < 1) {
		return Dataset{}, Dataset{}, fmt.Errorf("heartdisease: split: test fraction must be in (0, 1), got %v", testFraction)
	}
	rng := rand.NewPCG(seed, splitStream)
	var testIdx []int
	for _, label := range []float64{0, 1} {
		idx := indicesWithLabel(ds.Y, label)
		shuffle(rng, idx)
		n := int(math.Round(testFraction * float64(len(idx))))
		testIdx = append(testIdx, idx[:n]...)
	}
	sort.Ints(testIdx)
	train, test = partition(ds, testIdx)
	if train.Len() == 0 || test.Len() == 0 {
		return Dataset{}, Dataset{}, fmt.Errorf("heartdisease: split: %d examples with test fraction %v leave %d for training and %d for testing; both must be non-empty",
			ds.Len(), testFraction, train.Len(), test.Len())
	}
	return train, test, nil
}

// indicesWithLabel returns the indices i with y[i] == label, ascending.
func indicesWithLabel(y []float64, label float64) []int {
	var idx []int
	for i, v := range y {
		if v == label {
			idx = append(idx, i)
		}
	}
	return idx
}

// partition copies the examples listed in testIdx (ascending) into test and the
// others into train.
func partition(ds Dataset, testIdx []int) (train, test Dataset) {
	k := 0
	for i := range ds.Y {
		dst := &train
		if k < len(testIdx) && testIdx[k] == i {
			dst = &test
			k++
		}
		dst.X = append(dst.X, cloneRow(ds.X[i]))
		dst.Y = append(dst.Y, ds.Y[i])
	}
	return train, test
}

// shuffle permutes idx with a Fisher-Yates shuffle driven by src. It is written
// out, rather than using rand.Shuffle, so that splits stay identical across Go
// releases: only the PCG generator, which is fully specified, is relied on.
func shuffle(src *rand.PCG, idx []int) {
	for i := len(idx) - 1; i > 0; i-- {
		j := boundedIndex(src, uint64(i+1))
		idx[i], idx[j] = idx[j], idx[i]
	}
}

// boundedIndex returns a uniform integer in [0, n) using Lemire's method.
func boundedIndex(src *rand.PCG, n uint64) int {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return int(hi)
}
