package participant

import (
	"fmt"
	"math"

	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
)

// Federated standardisation.
//
// The hospitals record the same features on different scales and with very
// different disease rates, so a shared model needs shared feature scaling.
// The model carries it: tensors input_mean and input_sq_mean hold the pooled
// first and second moments of the raw features. They start at zero. In the
// federation's first round each participant submits its local moments as
// the update of those two tensors (and leaves the weights unchanged); the
// example-weighted FedAvg of the moments is exactly the pooled moment over
// all training data. From then on every participant standardises with the
// pooled statistics from the model and leaves the two tensors unchanged.
//
// What leaves a site in that first round is the mean and mean square of each
// feature over its training split, sealed to the aggregator like any update;
// what is published is only their pooled value.
const (
	tensorMean   = model.TensorInputMean
	tensorSqMean = model.TensorInputSqMean
)

// ModelScaler returns the standardiser the model carries, or ok=false if
// the pooled statistics have not been computed yet.
func ModelScaler(m *model.Model) (s heartdisease.Standardizer, ok bool, err error) {
	mean, ok1 := m.Lookup(tensorMean)
	sq, ok2 := m.Lookup(tensorSqMean)
	if !ok1 || !ok2 || len(mean.Data) != heartdisease.NumFeatures || len(sq.Data) != heartdisease.NumFeatures {
		return s, false, fmt.Errorf("model lacks %s/%s tensors of %d features", tensorMean, tensorSqMean, heartdisease.NumFeatures)
	}
	s = heartdisease.Standardizer{Mean: make([]float64, len(mean.Data)), Std: make([]float64, len(mean.Data))}
	for i := range mean.Data {
		mu, m2 := float64(mean.Data[i]), float64(sq.Data[i])
		if m2 > 0 {
			ok = true
		}
		s.Mean[i] = mu
		s.Std[i] = math.Sqrt(math.Max(m2-mu*mu, 0))
		if s.Std[i] < 1e-9 {
			s.Std[i] = 1
		}
	}
	return s, ok, nil
}

// moments returns the mean and mean square of each feature.
func moments(ds heartdisease.Dataset) (mean, sq []float64) {
	mean = make([]float64, heartdisease.NumFeatures)
	sq = make([]float64, heartdisease.NumFeatures)
	for _, row := range ds.X {
		for j, v := range row {
			mean[j] += v
			sq[j] += v * v
		}
	}
	n := float64(len(ds.X))
	for j := range mean {
		mean[j] /= n
		sq[j] /= n
	}
	return mean, sq
}

// momentsUpdate is the first-round update: the local moments minus the
// model's (zero) moments, and no change to anything else.
func momentsUpdate(global *model.Model, train heartdisease.Dataset) (*model.Model, error) {
	upd := global.Clone()
	for i := range upd.Tensors {
		clear(upd.Tensors[i].Data)
	}
	mean, sq := moments(train)
	for name, vals := range map[string][]float64{tensorMean: mean, tensorSqMean: sq} {
		dst, _ := upd.Lookup(name)
		src, _ := global.Lookup(name)
		for j, v := range vals {
			dst.Data[j] = float32(v) - src.Data[j]
		}
	}
	return upd, nil
}
