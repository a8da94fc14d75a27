//go:build !ego

package sgx

import (
	"errors"
	"fmt"

	"github.com/confed/confed/internal/tee"
)

// ErrNotBuilt is returned by NewIssuer and NewVerifier in a binary built
// without the ego tag.
var ErrNotBuilt = errors.New(BuildHelp)

// NewIssuer returns ErrNotBuilt: this binary cannot produce SGX evidence.
func NewIssuer() (tee.Issuer, error) { return nil, ErrNotBuilt }

// NewVerifier checks p, then returns ErrNotBuilt: this binary cannot verify
// SGX evidence.
func NewVerifier(p Policy) (tee.Verifier, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("sgx policy: %w", err)
	}
	return nil, ErrNotBuilt
}
