package trainer

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// sigmoid returns 1/(1+e^-z) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss returns the binary cross-entropy of logit z for label y,
// log(1+e^z) − y·z, computed stably.
func logLoss(z, y float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y*z
}

// logits sets z = X·w + b.
func logits(x blas64.General, w Weights, z []float64) {
	for i := range z {
		z[i] = w.B
	}
	blas64.Gemv(blas.NoTrans, 1, x, vec(w.W), 1, vec(z))
}

// batchGrad computes, for the minibatch (x, y), the mean log-loss of w and the
// gradient of the full objective (log-loss + L2 + proximal term) into gw and the
// returned gb. scratch must have x.Rows elements.
func batchGrad(x blas64.General, y []float64, w, global Weights, p Params, gw, scratch []float64) (loss, gb float64) {
	m := float64(x.Rows)
	logits(x, w, scratch)
	for i, z := range scratch {
		loss += logLoss(z, y[i])
		scratch[i] = sigmoid(z) - y[i] // residual
		gb += scratch[i]
	}
	blas64.Gemv(blas.Trans, 1/m, x, vec(scratch), 0, vec(gw))
	floats.AddScaled(gw, p.L2, w.W)
	gb /= m
	if p.ProximalMu != 0 {
		floats.AddScaled(gw, p.ProximalMu, w.W)
		floats.AddScaled(gw, -p.ProximalMu, global.W)
		gb += p.ProximalMu * (w.B - global.B)
	}
	return loss / m, gb
}

// objective returns the full objective on (x, y); it is what batchGrad
// differentiates, used to check the gradient.
func objective(x blas64.General, y []float64, w, global Weights, p Params) float64 {
	z := make([]float64, x.Rows)
	logits(x, w, z)
	loss := 0.0
	for i := range z {
		loss += logLoss(z[i], y[i])
	}
	loss /= float64(x.Rows)
	loss += p.L2 / 2 * floats.Dot(w.W, w.W)
	if p.ProximalMu != 0 {
		d := floats.Distance(w.W, global.W, 2)
		db := w.B - global.B
		loss += p.ProximalMu / 2 * (d*d + db*db)
	}
	return loss
}

func vec(v []float64) blas64.Vector { return blas64.Vector{N: len(v), Inc: 1, Data: v} }
