package trainer

import (
	"math"
	"sort"

	"github.com/confed/confed/internal/heartdisease"
)

// Metrics summarises a model on a labelled dataset.
type Metrics struct {
	Loss     float64 // mean log-loss (no penalties)
	Accuracy float64 // fraction correct at threshold 0.5
	AUC      float64 // area under the ROC curve; NaN unless both labels occur
	N        int     // examples evaluated
}

// Evaluate computes the metrics of w on ds. It returns an error if ds is empty or
// malformed or if w does not match its width.
func Evaluate(w Weights, ds heartdisease.Dataset) (Metrics, error) {
	x, err := matrix(ds)
	if err != nil {
		return Metrics{}, err
	}
	if err := w.validate(x.Cols); err != nil {
		return Metrics{}, err
	}
	z := make([]float64, x.Rows)
	logits(x, w, z)
	m := Metrics{N: x.Rows}
	correct := 0
	for i, zi := range z {
		m.Loss += logLoss(zi, ds.Y[i])
		if (zi >= 0) == (ds.Y[i] == 1) {
			correct++
		}
	}
	m.Loss /= float64(m.N)
	m.Accuracy = float64(correct) / float64(m.N)
	m.AUC = auc(z, ds.Y)
	return m, nil
}

// auc returns the ROC AUC of scores for labels (0/1) by the Mann-Whitney
// statistic, counting ties as one half; NaN if either label is absent.
func auc(scores, labels []float64) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSumPos, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // ranks i+1..j, averaged over the tie group
		for _, k := range idx[i:j] {
			if labels[k] == 1 {
				rankSumPos += avgRank
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(scores)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}
