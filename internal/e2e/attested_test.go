package e2e

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// snpRoundConfig is a two-round federation whose aggregator must prove
// SEV-SNP against policy p.
func snpRoundConfig(t *testing.T, p snp.Policy, deadline string) string {
	t.Helper()
	pol, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	indented := "    " + strings.ReplaceAll(strings.TrimSpace(string(pol)), "\n", "\n    ")
	return roundYAML(roundOpts{rounds: 2, min: 3, roundDeadline: deadline, noTraining: true,
		tee: "  aggregator: sev-snp\n  participants: none\n  sev-snp:\n" + indented + "\n"})
}

// runSNPFederation runs a federation whose aggregator attests with the fake
// SEV-SNP chip; the participants verify it against participantPolicy.
func runSNPFederation(t *testing.T, fake *snptest.Fake, participantPolicy snp.Policy, deadline string) *fed {
	return runSNP(t, fake, participantPolicy, snpRoundConfig(t, fake.Policy(), deadline), nil)
}

// runSNP runs the federation of roundYAML; issuers gives participants that
// attest (by name) their fake SEV-SNP issuer.
func runSNP(t *testing.T, fake *snptest.Fake, participantPolicy snp.Policy, roundYAML string, issuers map[string]tee.Issuer) *fed {
	hs := []heartdisease.Hospital{heartdisease.Hospitals[0], heartdisease.Hospitals[1], heartdisease.Hospitals[3]}
	f := newFed(t, hs, roundYAML)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); f.wg.Wait() })
	hooks := provider.Hooks{SNP: fake.VerifierOptions()}

	ccfg := f.coordinatorConfig()
	f.run(func() error {
		return coordinator.Run(ctx, ccfg, coordinator.Options{Listener: f.coordLis, Hooks: hooks,
			Logger: testLogger(t, "coordinator"), Tick: 20 * time.Millisecond})
	})
	acfg := aggregator.Default()
	acfg.Listen, acfg.Coordinator = f.aggAddr, f.coordAddr
	acfg.TLS = f.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	acfg.Attestation = provider.Policy{TEE: "sev-snp", SEVSNP: fake.Policy()}
	f.run(func() error {
		return aggregator.Run(ctx, acfg, aggregator.Options{Listener: f.aggLis, Issuer: fake.Issuer(), Hooks: hooks,
			Logger: testLogger(t, "aggregator")})
	})
	for _, h := range hs {
		cfg := participant.Default()
		cfg.Coordinator = f.coordAddr
		cfg.Data.Path = dataDir + "/" + h.File
		cfg.TLS = f.issue(pki.RoleParticipant, h.Name)
		cfg.AggregatorAttestation = provider.Policy{TEE: "sev-snp", SEVSNP: participantPolicy}
		iss := issuers[h.Name]
		f.run(func() error {
			return participant.Run(ctx, cfg, participant.Options{Hooks: hooks, ExitWhenFinished: true, Issuer: iss,
				Logger: testLogger(t, h.Name)})
		})
	}
	return f
}

// TestAttestedFederationSEVSNP trains with an aggregator that proves
// SEV-SNP (genuinely signed reports from go-sev-guest's fake chip, verified
// by the real verification code against the fake AMD roots): participants
// verify it on every connection and seal their updates to its round key;
// the coordinator verifies its signing key; nothing is marked insecure.
func TestAttestedFederationSEVSNP(t *testing.T) {
	t.Parallel()
	fake := snptest.New(t, snptest.Options{})
	f := runSNPFederation(t, fake, fake.Policy(), "30s")
	op := f.operator(t)
	eventually(t, 90*time.Second, "both rounds published", func() (bool, string) {
		resp, err := op.ListRounds(context.Background(), &confedv1.ListRoundsRequest{})
		if err != nil {
			return false, err.Error()
		}
		return resp.GetFinished(), prettyRounds(resp)
	})
	resp, err := op.ListRounds(context.Background(), &confedv1.ListRoundsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetRounds() {
		if r.GetState() != confedv1.RoundState_ROUND_STATE_PUBLISHED || r.GetInsecure() || r.GetTeeKind() != "sev-snp" {
			t.Errorf("round %d: %v insecure=%v tee=%q (%s)", r.GetRound(), r.GetState(), r.GetInsecure(), r.GetTeeKind(), r.GetReason())
		}
		if r.GetRound() > 0 && included(r) != 3 {
			t.Errorf("round %d included %d updates, want 3", r.GetRound(), included(r))
		}
	}
	for _, e := range f.ledgerEntries(t, op) {
		rec, err := ledger.Parse(e.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Insecure || rec.TEEKind != "sev-snp" {
			t.Errorf("ledger record %d: tee %q insecure=%v", e.Index, rec.TEEKind, rec.Insecure)
		}
	}
}

// TestParticipantsRefuseAnAggregatorWithAnotherMeasurement: the
// participants' own policy allows another measurement than the one the
// aggregator runs, so no participant sends anything; the round fails and
// the ledger says why.
func TestParticipantsRefuseAnAggregatorWithAnotherMeasurement(t *testing.T) {
	t.Parallel()
	fake := snptest.New(t, snptest.Options{})
	strict := fake.Policy()
	strict.Measurements = []string{strings.Repeat("ab", 48)}
	f := runSNPFederation(t, fake, strict, "3s")
	op := f.operator(t)
	var failed *confedv1.RoundStatus
	eventually(t, 60*time.Second, "round 1 failed", func() (bool, string) {
		resp, err := op.ListRounds(context.Background(), &confedv1.ListRoundsRequest{})
		if err != nil {
			return false, err.Error()
		}
		for _, r := range resp.GetRounds() {
			if r.GetRound() == 1 && r.GetState() == confedv1.RoundState_ROUND_STATE_FAILED {
				failed = r
				return true, ""
			}
		}
		return false, prettyRounds(resp)
	})
	if len(failed.GetSubmissions()) != 0 {
		t.Errorf("the aggregator received submissions although every participant refused it: %v", failed.GetSubmissions())
	}
	for _, want := range []string{"aggregator_refused", "measurement"} {
		if !strings.Contains(failed.GetReason(), want) {
			t.Errorf("failure reason %q does not mention %q", failed.GetReason(), want)
		}
	}
	var reporters []string
	for _, ev := range failed.GetEvents() {
		if ev.GetKind() == "aggregator_refused" {
			reporters = append(reporters, ev.GetParticipant())
		}
	}
	slices.Sort(reporters)
	reporters = slices.Compact(reporters)
	if len(reporters) != 3 {
		t.Errorf("participants that reported refusing the aggregator: %v, want all three", reporters)
	}
	var recorded bool
	for _, e := range f.ledgerEntries(t, op) {
		rec, _ := ledger.Parse(e.Canonical)
		if rec.Round == 1 && rec.State == ledger.StateFailed && strings.Contains(rec.Reason, "aggregator_refused") {
			recorded = true
		}
	}
	if !recorded {
		t.Error("the ledger does not record why round 1 failed")
	}
}

func prettyRounds(resp *confedv1.ListRoundsResponse) string {
	var b strings.Builder
	for _, r := range resp.GetRounds() {
		b.WriteString(r.GetState().String() + " " + r.GetReason() + "; ")
	}
	return b.String()
}

// TestMutuallyAttestedFederation: the round configuration requires
// participants to run in SEV-SNP with their own measurement. Two hospitals
// attest and train; the third runs outside any TEE and is refused with a
// reason, and the rounds go on without it.
func TestMutuallyAttestedFederation(t *testing.T) {
	t.Parallel()
	fake := snptest.New(t, snptest.Options{})
	guest := fake.Guest()
	guest.Measurement[0] ^= 0xff // the participants' image differs from the aggregator's
	pp := fake.Policy()
	pp.Measurements = []string{hex.EncodeToString(guest.Measurement[:])}
	pol, err := yaml.Marshal(pp)
	if err != nil {
		t.Fatal(err)
	}
	roundYAML := strings.Replace(snpRoundConfig(t, fake.Policy(), "8s"), "  participants: none\n",
		"  participants: sev-snp\n  participant_policy:\n    sev-snp:\n      "+
			strings.ReplaceAll(strings.TrimSpace(string(pol)), "\n", "\n      ")+"\n", 1)
	roundYAML = strings.Replace(roundYAML, "min: 3", "min: 2", 1)
	issuers := map[string]tee.Issuer{"cleveland": fake.IssuerFor(guest), "hungary": fake.IssuerFor(guest)}
	f := runSNP(t, fake, fake.Policy(), roundYAML, issuers)
	op := f.operator(t)
	eventually(t, 90*time.Second, "both rounds published", func() (bool, string) {
		resp, err := op.ListRounds(context.Background(), &confedv1.ListRoundsRequest{})
		if err != nil {
			return false, err.Error()
		}
		return resp.GetFinished(), prettyRounds(resp)
	})
	r2, err := op.GetRound(context.Background(), &confedv1.GetRoundRequest{Round: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r2.GetSubmissions() {
		if s.GetIncluded() {
			got = append(got, s.GetParticipant())
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"cleveland", "hungary"}) {
		t.Errorf("round 2 included %v, want the two attested hospitals", got)
	}
	var refused bool
	for _, ev := range r2.GetEvents() {
		if ev.GetParticipant() == "long-beach-va" && strings.Contains(ev.GetReason(), "attest") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("round 2 records no reason for long-beach-va's absence: events %v", r2.GetEvents())
	}
}
