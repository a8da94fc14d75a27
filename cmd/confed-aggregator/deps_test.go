package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The aggregator runs inside the TEE, so everything it links is part of the
// trusted computing base. This test pins what it may depend on.

// allowedModules are the only modules outside the standard library that the
// aggregator binary may link.
var allowedModules = []string{
	"github.com/confed/confed/",
	"google.golang.org/grpc",
	"google.golang.org/protobuf",
	"google.golang.org/genproto/googleapis/rpc",
	"golang.org/x/net",
	"golang.org/x/sys",
	"golang.org/x/text",
	"go.yaml.in/yaml/v3",
	// Attestation: issuing and verifying SEV-SNP, TDX and SGX evidence, and
	// what those libraries need.
	"github.com/google/go-sev-guest/",
	"github.com/google/go-tdx-guest/",
	"github.com/google/go-configfs-tsm/",
	"github.com/edgelesssys/ego/",
	"github.com/google/logger",
	"github.com/google/uuid",
	"go.uber.org/multierr",
	"golang.org/x/crypto/",
	// CBOR for the AWS Nitro and Arm CCA verifiers (internal/tee/nitro,
	// internal/tee/cca, via internal/tee/cose), which package provider
	// registers for the participant verifier the aggregator selects: a
	// small, dependency-light decoder (its only dependency is float16).
	"github.com/fxamacker/cbor/v2",
	"github.com/x448/float16",
}

// forbidden are packages that must never be in the aggregator, whatever
// module brings them.
var forbidden = []string{
	"go.etcd.io/bbolt",
	"html/template",
	"gonum.org/",
	"github.com/confed/confed/coordinator",
	"github.com/confed/confed/participant",
	"github.com/confed/confed/internal/cli",
	"github.com/confed/confed/internal/heartdisease",
}

func TestAggregatorDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed no dependencies; the test would pass vacuously")
	}
	modules := map[string]bool{}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("aggregator depends on forbidden package %s", d)
			}
		}
		ok := false
		for _, a := range allowedModules {
			if strings.HasPrefix(d, a) {
				ok = true
				modules[a] = true
			}
		}
		if !ok {
			t.Errorf("aggregator depends on %s, which is outside the allowed modules; extend the list only after review", d)
		}
	}
	t.Logf("aggregator links %d non-standard packages from %d modules", len(deps), len(modules))
}
