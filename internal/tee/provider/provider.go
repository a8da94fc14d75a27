// Package provider chooses the TEE implementation named in a configuration.
package provider

import (
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
)

// Issuer returns the issuer for kind, or an error that says why it cannot be
// used here (insecure mode not enabled, hardware missing, unsupported build).
func Issuer(kind string, opts tee.Options) (tee.Issuer, error) {
	if kind == tee.KindSimulated || kind == "simulated" {
		return simulated.NewIssuer(opts)
	}
	return nil, tee.ErrUnsupported(kind)
}

// Verifier returns the verifier for evidence of kind.
func Verifier(kind string, opts tee.Options) (tee.Verifier, error) {
	if kind == tee.KindSimulated || kind == "simulated" {
		if !opts.AllowInsecureSimulated {
			return nil, tee.ErrInsecureRefused
		}
		return simulated.NewVerifier(opts), nil
	}
	return nil, tee.ErrUnsupportedVerifier(kind)
}
