//go:build ego

package sgx

import (
	"context"
	"fmt"

	"github.com/edgelesssys/ego/enclave"

	"github.com/confed/confed/internal/tee"
)

// issuer gets remote reports from the EGo runtime.
type issuer struct{}

// NewIssuer returns an issuer if this process runs inside a non-debug EGo
// enclave.
func NewIssuer() (tee.Issuer, error) {
	self, err := enclave.GetSelfReport()
	if err != nil {
		return nil, fmt.Errorf("sgx: not running inside an EGo enclave (sign the binary with `ego sign` and start it with `ego run`): %v", err)
	}
	if self.Debug {
		return nil, fmt.Errorf("sgx: this enclave runs in debug mode, whose evidence every verifier refuses: set \"debug\": false in enclave.json and sign it again")
	}
	return issuer{}, nil
}

// Kind implements tee.Issuer.
func (issuer) Kind() string { return tee.KindSGX }

// Issue implements tee.Issuer.
func (issuer) Issue(ctx context.Context, reportData [64]byte) (tee.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return tee.Evidence{}, err
	}
	raw, err := enclave.GetRemoteReport(reportData[:])
	if err != nil {
		return tee.Evidence{}, fmt.Errorf("sgx: getting a remote report: %v", err)
	}
	return tee.Evidence{Kind: tee.KindSGX, Raw: raw}, nil
}
