package trainer

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"

	"github.com/confed/confed/internal/heartdisease"
)

// shuffleStream is the PCG stream of the per-epoch shuffle.
const shuffleStream = 0x636f6e6665642d74 // "confed-t"

// ErrDiverged is returned when training produces non-finite weights, which means
// the learning rate is too large for the data and penalties.
var ErrDiverged = errors.New("trainer: training diverged (non-finite weights); lower the learning rate")

// TrainStats describes one call to Train.
type TrainStats struct {
	NumExamples int     // local training examples (the weight in FedAvg)
	Loss        float64 // mean log-loss over the last epoch, each minibatch measured before its step
	Epochs      int     // epochs run
}

// Train runs p.LocalEpochs epochs of minibatch SGD on train, starting from global,
// and returns the local model. See the package documentation for the objective.
// global and train are not modified.
func Train(global Weights, train heartdisease.Dataset, p Params) (Weights, TrainStats, error) {
	if err := p.Validate(); err != nil {
		return Weights{}, TrainStats{}, err
	}
	x, err := matrix(train)
	if err != nil {
		return Weights{}, TrainStats{}, err
	}
	if err := global.validate(x.Cols); err != nil {
		return Weights{}, TrainStats{}, fmt.Errorf("global model: %w", err)
	}
	s := newSGD(x, train.Y, global, p)
	var loss float64
	for range p.LocalEpochs {
		loss = s.epoch()
	}
	if err := s.w.validate(x.Cols); err != nil {
		return Weights{}, TrainStats{}, fmt.Errorf("%w: %w", ErrDiverged, err)
	}
	return s.w, TrainStats{NumExamples: x.Rows, Loss: loss, Epochs: p.LocalEpochs}, nil
}

// sgd holds the state of one training run.
type sgd struct {
	x           blas64.General // data in original order
	y           []float64
	xs          blas64.General // data in this epoch's order
	ys          []float64
	perm        []int
	w, global   Weights
	p           Params
	gw, scratch []float64
	rng         *rand.PCG
}

func newSGD(x blas64.General, y []float64, global Weights, p Params) *sgd {
	n, d := x.Rows, x.Cols
	b := min(p.BatchSize, n)
	s := &sgd{
		x: x, y: y,
		xs:      blas64.General{Rows: n, Cols: d, Stride: d, Data: make([]float64, n*d)},
		ys:      make([]float64, n),
		perm:    make([]int, n),
		w:       global.Clone(),
		global:  global,
		p:       p,
		gw:      make([]float64, d),
		scratch: make([]float64, b),
		rng:     rand.NewPCG(p.Seed, shuffleStream),
	}
	for i := range s.perm {
		s.perm[i] = i
	}
	return s
}

// epoch reshuffles the data, takes one step per minibatch and returns the mean
// log-loss of the examples, each measured before its minibatch's step.
func (s *sgd) epoch() float64 {
	s.shuffle()
	n, total := s.x.Rows, 0.0
	for i := 0; i < n; i += s.p.BatchSize {
		j := min(i+s.p.BatchSize, n)
		loss, gb := batchGrad(rows(s.xs, i, j), s.ys[i:j], s.w, s.global, s.p, s.gw, s.scratch[:j-i])
		total += loss * float64(j-i)
		for k, g := range s.gw {
			s.w.W[k] -= s.p.LearningRate * g
		}
		s.w.B -= s.p.LearningRate * gb
	}
	return total / float64(n)
}

// shuffle permutes the examples into xs, ys with a Fisher-Yates shuffle. It uses
// only the fully specified PCG generator (not rand.Shuffle) so that training is
// reproducible across Go releases.
func (s *sgd) shuffle() {
	for i := len(s.perm) - 1; i > 0; i-- {
		j := boundedIndex(s.rng, uint64(i+1))
		s.perm[i], s.perm[j] = s.perm[j], s.perm[i]
	}
	d := s.x.Cols
	for i, k := range s.perm {
		copy(s.xs.Data[i*d:(i+1)*d], s.x.Data[k*d:(k+1)*d])
		s.ys[i] = s.y[k]
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
