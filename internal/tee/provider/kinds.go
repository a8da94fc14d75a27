package provider

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

// Use is what a configuration does with a TEE kind.
type Use int

const (
	// Run: a daemon runs in the TEE and issues its own evidence (an
	// aggregator's attestation.tee, a participant's attest_as). The kind
	// needs an issuer in this build.
	Run Use = iota + 1
	// Verify: a peer's evidence is verified against a policy of the kind
	// (a participant's aggregator_attestation, a round file's tee
	// section). Verifying needs no TEE hardware.
	Verify
)

// Kind names as configuration files spell them ("simulated" is the
// INSECURE simulated TEE, tee.KindSimulated in evidence).
const configSimulated = "simulated"

// kindRule says whether a kind may be used to run a daemon and to verify a
// peer: an empty string allows it, anything else is the reason it is
// refused.
type kindRule struct{ run, verify string }

// notCPUTEE is why nvidia-gpu never names the TEE of a process.
const notCPUTEE = "nvidia-gpu is not a CPU TEE: GPU evidence attests a GPU, not the process that holds the keys and sees the updates, so it cannot stand for a daemon's TEE; name the CPU TEE the process runs in (sev-snp, tdx, ...): NVIDIA GPU evidence is only checked next to a CPU TEE's evidence (confed attest verify --gpu)"

// kindRules are the kinds a configuration can name, in the order they are
// listed in messages.
var kindRules = []struct {
	kind string
	kindRule
}{
	{tee.KindSEVSNP, kindRule{}},
	{tee.KindTDX, kindRule{}},
	{tee.KindSGX, kindRule{}},
	{tee.KindNitro, kindRule{}},
	{tee.KindMAA, kindRule{run: "azure-maa is verification-only in this build: Azure Attestation tokens are issued by the Azure Attestation service, which confed does not call, so no daemon can run as azure-maa; run it as the TEE it is in (sev-snp, sgx or tdx), and verify peers' tokens with azure-maa"}},
	{tee.KindCCA, kindRule{run: "arm-cca is verification-only in this build: it has no issuer of Arm CCA realm tokens, so no daemon can run as arm-cca; verify peers' tokens with arm-cca (confed attest verify, round files)"}},
	{tee.KindNVGPU, kindRule{run: notCPUTEE, verify: notCPUTEE}},
	{configSimulated, kindRule{}},
}

// Kinds lists the kinds allowed for use, as configuration files spell
// them.
func Kinds(use Use) []string {
	var out []string
	for _, r := range kindRules {
		if r.reason(use) == "" {
			out = append(out, r.kind)
		}
	}
	return out
}

func (r kindRule) reason(use Use) string {
	if use == Run {
		return r.run
	}
	return r.verify
}

// CheckKind returns nil if kind (as a configuration spells it) may be used
// for use, or an error that says why not.
func CheckKind(kind string, use Use) error {
	if kind == tee.KindSimulated {
		kind = configSimulated
	}
	for _, r := range kindRules {
		if r.kind == kind {
			if why := r.reason(use); why != "" {
				return errors.New(why)
			}
			return nil
		}
	}
	return fmt.Errorf("%q is not a TEE kind: want %s", kind, kindWords(use))
}

// known reports whether kind is one a configuration can name.
func known(kind string) bool {
	for _, r := range kindRules {
		if r.kind == kind {
			return true
		}
	}
	return false
}

// kindWords is "a, b or c" for messages.
func kindWords(use Use) string { return yamlcfg.Alternatives(Kinds(use)) }

// CheckKindAt checks the kind named by key (a policy's tee, attest_as) for
// use: a known kind refused for use gets the reason, an unknown one the
// list of what is allowed. extra are further values the key accepts (such
// as none).
func CheckKindAt(l *yamlcfg.Locator, key, kind string, use Use, extra ...string) error {
	if slices.Contains(extra, kind) {
		return nil
	}
	if err := CheckKind(kind, use); err != nil && known(kind) {
		return l.Errorf(key, "%v", err)
	}
	return l.OneOf(key, kind, append(slices.Clone(extra), Kinds(use)...)...)
}

// CheckDaemonPolicy validates a daemon's policy read from a configuration
// file, naming its key: key.tee must be allowed for use, and the policy
// must not carry an nvidia-gpu section, which the daemons do not enforce
// (GPU evidence does not travel in confed's attested channels), so that no
// one believes a GPU is checked when it is not.
func CheckDaemonPolicy(l *yamlcfg.Locator, key string, p Policy, use Use) error {
	if err := CheckKindAt(l, key+".tee", p.TEE, use); err != nil {
		return err
	}
	if !reflect.ValueOf(p.NVGPU).IsZero() {
		return l.Errorf(key+".nvidia-gpu", "confed's daemons do not check GPU evidence yet, so this section would not be enforced: remove it (it is for confed attest verify --gpu)")
	}
	return CheckPolicy(l, key, p)
}
