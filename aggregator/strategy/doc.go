// Package strategy holds the aggregator's aggregation strategies beyond
// plain FedAvg: server optimisers that apply the round's pseudo-gradient
// with momentum or adaptive step sizes, and Byzantine-robust rules that
// combine the updates of a federation that may contain a faulty or
// malicious member.
//
// # Server optimisers
//
// The round's pseudo-gradient is Δ = Σ nᵢΔᵢ / Σ nᵢ, the example-weighted
// mean of the participants' deltas (fedavg.Accumulator.Mean), or the output
// of a robust rule. Optimizer.Step turns the global model and Δ into the
// next global model: fedavg (x + Δ), fedavgm (Hsu et al. 2019), fedadam,
// fedyogi and fedadagrad (Reddi et al. 2021, Algorithm 2). See Config for
// the update rules and Defaults for the default hyper-parameters and where
// they come from.
//
// State. An optimiser's state (momentum or moments, float64, one or two
// model-sized vectors, and the step count) lives in the Optimizer value, in
// the aggregator's memory, across rounds. It is lost when the aggregator
// restarts; the next step then starts from zero momentum, as in round 1.
// State and Restore serialise it so that a later change can persist it;
// the bytes carry no seal or signature and must be sealed to the TEE
// before they leave it. The state is only meaningful for the global model
// it produced: the caller should Reset it when the round's global model is
// not the one the optimiser last produced (a failed publish, a restart of
// either daemon).
//
// Frozen coordinates (Config.Frozen) are passed through as exactly
// float32(global + Δ), as FedAvg does, with no state: the model's feature
// statistics (tensors input_mean and input_sq_mean, see participant's
// scaler) are the pooled moments only if they are averaged exactly.
//
// # Robust aggregation
//
// Robust rules need every update at once. A Spill keeps them in a
// temporary file, sealed with AES-256-GCM under a key that never leaves
// the process (the file is on the host's disk, outside the TEE). Aggregate
// reads a column block of every update at a time, so memory is
// O(updates × block) + O(updates²) + the caller's O(model) output, never
// O(updates × model). The rules — coordinate-wise median and trimmed mean
// (Yin et al. 2018), Krum and Multi-Krum (Blanchard et al. 2017) — are
// unweighted, as in the papers. See RobustConfig. The robust aggregate is a
// pseudo-gradient like any other and can be handed to any Optimizer.
//
// Robust rules weaken the aggregate's confidentiality: Krum publishes one
// participant's update, and the median of an odd number of updates is, per
// coordinate, one participant's value. RobustConfig.MinAveraged says how
// many updates each coordinate mixes, for comparison with the aggregator's
// min_updates.
//
// ClipNorm bounds an update's L2 norm before it is folded or spilled.
//
// The package uses only the standard library and package model: it runs
// inside a TEE.
package strategy
