// Package trainer is the participant's built-in learner: binary logistic regression
// trained by minibatch stochastic gradient descent, with the linear algebra done by
// gonum (blas64).
//
// Train minimises, over each minibatch B of the local training data,
//
//	(1/|B|) Σ_{i∈B} BCE(σ(w·x_i + b), y_i) + (L2/2)‖w‖² + (μ/2)(‖w − w_g‖² + (b − b_g)²)
//
// starting from the global model (w_g, b_g). The last term is the FedProx proximal
// term (μ = Params.ProximalMu; μ = 0 is plain FedAvg local training); it applies to
// the bias as well, so that a large μ keeps the whole model at the global one. The L2
// penalty does not apply to the bias. Examples are reshuffled every epoch by a
// generator seeded with Params.Seed, so training is deterministic for a seed.
//
// The sigmoid and the log-loss are computed in a numerically stable way
// (log(1+e^z) via log1p), so extreme logits give finite losses.
//
// Weights is a plain value type; converting it to and from the named tensors of
// internal/model ("weight" of shape [features], "bias" of shape [1]) is left to
// the caller.
package trainer
