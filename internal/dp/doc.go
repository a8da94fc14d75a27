// Package dp is the differential-privacy toolkit of confed: L2 clipping of
// model updates (fixed, or adaptive after Andrew et al. 2021), Gaussian
// noise from a cryptographically seeded generator, and a Rényi-DP
// accountant for the (subsampled) Gaussian mechanism that composes rounds
// and converts to (ε, δ).
//
// It is standard library only: it runs inside the aggregator's TEE (central
// DP), in the participant daemon (local DP) and in the coordinator (the
// privacy budget). docs/privacy.md explains what is protected and how to
// choose the parameters.
//
// # Accountant
//
// RDP returns the Rényi-DP ε(α) of one step of the sampled Gaussian
// mechanism with sampling rate q and noise multiplier z (noise standard
// deviation z times the L2 sensitivity) at each order α, computed as in
// Mironov, Talwar and Zhang 2019 ("Rényi Differential Privacy of the
// Sampled Gaussian Mechanism", Section 3.3) and as TF Privacy's compute_rdp
// and Opacus's RDP accountant do: exactly α/(2z²) for q = 1, the binomial
// expansion of A_α for integer α, and the two-sided series with erfc for
// fractional α. RDP composes by addition. Epsilon converts to (ε, δ) with
// the improved conversion of Balle et al. 2020 ("Hypothesis Testing
// Interpretations and Rényi Differential Privacy", Theorem 21; the same
// bound as Canonne, Kamath and Steinke 2020), which is what Opacus's
// get_privacy_spent and Google's dp_accounting use:
//
//	ε = min over α of  rdp(α) + log((α−1)/α) − (log δ + log α)/(α−1).
//
// DefaultOrders are Opacus's and TF Privacy's default orders.
//
// # Noise
//
// NewSource returns a ChaCha8 generator (math/rand/v2) seeded with 32 bytes
// from crypto/rand: a cryptographically secure stream that an observer of
// the outputs cannot predict. Gaussian draws standard normal values with
// Marsaglia's polar method from 53-bit uniforms. The polar method is exact
// in real arithmetic; in float64 its tail ends near 8.6 standard
// deviations, and floating-point noise has known side channels
// (docs/privacy.md, limits).
package dp
