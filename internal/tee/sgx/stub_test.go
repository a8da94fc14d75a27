//go:build !ego

package sgx

import (
	"errors"
	"testing"
)

func TestDefaultBuildExplainsHowToBuild(t *testing.T) {
	_, ierr := NewIssuer()
	_, verr := NewVerifier(Policy{UniqueIDs: []string{mrenclave}})
	for _, err := range []error{ierr, verr} {
		if !errors.Is(err, ErrNotBuilt) {
			t.Fatalf("error %v, want ErrNotBuilt", err)
		}
		for _, want := range []string{
			"sgx: this binary was built without SGX support; build with:",
			"install EGo",
			"ego-go build -tags ego,ego_enclave -o confed-aggregator ./cmd/confed-aggregator",
			"ego sign confed-aggregator",
			"ego run confed-aggregator",
			"Open Enclave verification libraries",
			"go build -tags ego",
		} {
			mustContain(t, err, want)
		}
	}
	// A bad policy is reported as such, not hidden behind the build error.
	_, err := NewVerifier(Policy{})
	mustContain(t, err, "sgx policy: unique_ids: missing")
}
