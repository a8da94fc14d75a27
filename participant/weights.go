package participant

import (
	"fmt"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/participant/trainer"
)

// ModelToWeights converts a logistic-regression model to the trainer's form.
func ModelToWeights(m *model.Model) (trainer.Weights, error) {
	w, okW := m.Lookup("weight")
	b, okB := m.Lookup("bias")
	if !okW || !okB || len(b.Data) != 1 {
		return trainer.Weights{}, fmt.Errorf("model is not a logistic regression (needs tensors \"weight\" and \"bias\" [1])")
	}
	out := trainer.Weights{W: make([]float64, len(w.Data)), B: float64(b.Data[0])}
	for i, v := range w.Data {
		out.W[i] = float64(v)
	}
	return out, nil
}

// weightsUpdate is the update that moves global's weight and bias to w
// and leaves every other tensor unchanged.
func weightsUpdate(global *model.Model, w trainer.Weights) (*model.Model, error) {
	upd := global.Clone()
	for i := range upd.Tensors {
		clear(upd.Tensors[i].Data)
	}
	gw, okW := global.Lookup("weight")
	gb, okB := global.Lookup("bias")
	uw, _ := upd.Lookup("weight")
	ub, _ := upd.Lookup("bias")
	if !okW || !okB || len(gw.Data) != len(w.W) {
		return nil, fmt.Errorf("model is not a logistic regression of %d features", len(w.W))
	}
	for i, v := range w.W {
		uw.Data[i] = float32(v) - gw.Data[i]
	}
	ub.Data[0] = float32(w.B) - gb.Data[0]
	return upd, nil
}
