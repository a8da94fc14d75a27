package coordinator

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/dashboard"
	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/round"
	"github.com/confed/confed/coordinator/store"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// globalMetrics are the participants' evaluations of the round's starting
// model that the dashboard averages.
var globalMetrics = []string{"global_accuracy", "global_loss", "global_auc"}

func roundSummary(st *confedv1.RoundStatus, now time.Time) dashboard.RoundSummary {
	r := dashboard.RoundSummary{
		Round: st.GetRound(), State: stateName(st.GetState()), Reason: st.GetReason(),
		Expected: len(st.GetExpectedParticipants()), MinParticipants: int(st.GetMinParticipants()),
		ModelSHA256: hexs(st.GetModelSha256()), TEEKind: st.GetTeeKind(), Insecure: st.GetInsecure(),
		Submissions: []dashboard.SubmissionView{}, Events: []dashboard.EventView{},
	}
	roundTimes(&r, st, now)
	r.Privacy = roundPrivacy(st.GetPrivacy())
	for _, s := range st.GetSubmissions() {
		r.Submissions = append(r.Submissions, submissionView(s))
		if s.GetIncluded() {
			r.Included++
			if s.GetMetrics()["statistics_round"] == 1 {
				r.Statistics = true
			}
		}
	}
	for _, ev := range st.GetEvents() {
		v := dashboard.EventView{Participant: ev.GetParticipant(), Kind: ev.GetKind(), Reason: ev.GetReason()}
		if ev.GetAt() != nil {
			v.At = optTime(ev.GetAt().AsTime())
		}
		r.Events = append(r.Events, v)
	}
	if !r.Statistics {
		r.Global = weightedGlobal(st)
	}
	return r
}

// roundTimes fills in when the round opened, closed collection and
// finished, and how long the whole round and its collection took (to now
// for what still runs).
func roundTimes(r *dashboard.RoundSummary, st *confedv1.RoundStatus, now time.Time) {
	if st.GetDeadline() != nil {
		r.Deadline = optTime(st.GetDeadline().AsTime())
	}
	closed, finished := stampOf(st.GetClosedAt()), stampOf(st.GetFinishedAt())
	if finished.IsZero() && st.GetState() == confedv1.RoundState_ROUND_STATE_FAILED {
		// A round failed when the coordinator restarted records its
		// failure as closed_at.
		finished = closed
	}
	r.ClosedAt, r.FinishedAt = optTime(closed), optTime(finished)
	if st.GetOpenedAt() == nil {
		return
	}
	opened := st.GetOpenedAt().AsTime()
	r.OpenedAt = optTime(opened)
	r.DurationSeconds = span(opened, finished, now, terminal(st.GetState()))
	collecting := st.GetState() == confedv1.RoundState_ROUND_STATE_OPEN || st.GetState() == confedv1.RoundState_ROUND_STATE_COLLECTING
	r.CollectionSeconds = span(opened, closed, now, !collecting)
}

// stampOf is ts, or the zero time when it is unset.
func stampOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// span is the seconds from from to end, or to now when end is unset and
// the span has not ended; nil when it ended at an unknown time.
func span(from, end, now time.Time, ended bool) *float64 {
	if end.IsZero() {
		if ended {
			return nil
		}
		end = now
	}
	d := end.Sub(from).Seconds()
	if d < 0 {
		return nil
	}
	return &d
}

// roundPrivacy is a round's privacy accounting; nil without DP.
func roundPrivacy(p *confedv1.PrivacySpent) *dashboard.RoundPrivacy {
	if p == nil {
		return nil
	}
	return &dashboard.RoundPrivacy{
		Mode: p.GetMode(), EpsilonRound: round.Float64(p.GetEpsilonRound()), EpsilonTotal: round.Float64(p.GetEpsilonTotal()),
		EpsilonBudget: round.Float64(p.GetEpsilonBudget()), Delta: round.Float64(p.GetDelta()),
		NoiseMultiplier: round.Float64(p.GetNoiseMultiplier()), ClipNorm: round.Float64(p.GetClipNorm()),
		Projected: p.GetProjected(), Note: p.GetNote(),
	}
}

func terminal(s confedv1.RoundState) bool {
	return s == confedv1.RoundState_ROUND_STATE_PUBLISHED || s == confedv1.RoundState_ROUND_STATE_FAILED
}

func submissionView(s *confedv1.SubmissionStatus) dashboard.SubmissionView {
	v := dashboard.SubmissionView{Participant: s.GetParticipant(), Accepted: s.GetAccepted(), Included: s.GetIncluded(),
		Reason: s.GetReason(), NumExamples: s.GetNumExamples(), UpdateNorm: round.Float64(s.GetUpdateNorm())}
	if len(s.GetMetrics()) > 0 {
		v.Metrics = make(map[string]dashboard.Number, len(s.GetMetrics()))
		for k, m := range s.GetMetrics() {
			v.Metrics[k] = round.Float64(m)
		}
	}
	if s.GetAt() != nil {
		v.At = optTime(s.GetAt().AsTime())
	}
	return v
}

// weightedGlobal averages the included participants' evaluations of the
// starting model, weighted by their test examples; nil without any.
func weightedGlobal(st *confedv1.RoundStatus) map[string]dashboard.Number {
	out := map[string]dashboard.Number{}
	for _, name := range globalMetrics {
		var sum, n float64
		for _, s := range st.GetSubmissions() {
			m := s.GetMetrics()
			v, ok := m[name]
			w := m["test_examples"]
			if !s.GetIncluded() || !ok || w <= 0 {
				continue
			}
			sum += w * v
			n += w
		}
		if n > 0 {
			out[name] = round.Float64(sum / n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// participantViews needs e.mu. Members come first in configuration order,
// then participants seen before but no longer members.
func (e *engine) participantViews(stored []store.Participant, rounds []*confedv1.RoundStatus) []dashboard.ParticipantView {
	byName := map[string]store.Participant{}
	for _, p := range stored {
		byName[p.Name] = p
	}
	names := append([]string(nil), e.rc.Participants.Expected...)
	member := map[string]bool{}
	for _, n := range names {
		member[n] = true
	}
	for _, p := range stored {
		if !member[p.Name] {
			names = append(names, p.Name)
		}
	}
	att := participantAttestation(e.rc)
	out := make([]dashboard.ParticipantView, 0, len(names))
	for _, n := range names {
		p := byName[n]
		_, connected := e.participants[n]
		v := dashboard.ParticipantView{Name: n, Member: member[n], Connected: connected, FirstSeen: optTime(p.FirstSeen),
			LastSeen: optTime(p.LastSeen), CertSHA256: p.CertSHA256, SoftwareVersion: p.SoftwareVersion, Attestation: att}
		v.LastProblem, v.LastSeen = lastActivity(n, rounds, v.LastSeen)
		out = append(out, v)
	}
	return out
}

// lastActivity finds a participant's latest problem (a refused or
// dropped submission, or a report) and its latest sign of life.
func lastActivity(name string, rounds []*confedv1.RoundStatus, seen *time.Time) (*dashboard.Problem, *time.Time) {
	var last *dashboard.Problem
	note := func(p *dashboard.Problem) {
		if last == nil || p.Round > last.Round || (p.Round == last.Round && !p.At.Before(last.At)) {
			last = p
		}
	}
	later := func(t time.Time) {
		if t.Equal(time.Unix(0, 0)) { // an unset timestamp
			return
		}
		if seen == nil || t.After(*seen) {
			seen = optTime(t)
		}
	}
	for _, st := range rounds {
		for _, s := range st.GetSubmissions() {
			if s.GetParticipant() != name {
				continue
			}
			at := s.GetAt().AsTime().UTC()
			later(at)
			if !s.GetIncluded() && s.GetReason() != "" && !strings.HasPrefix(s.GetReason(), "in flight") {
				kind := "refused"
				if s.GetAccepted() {
					kind = "not included"
				}
				note(&dashboard.Problem{Round: st.GetRound(), Kind: kind, Reason: s.GetReason(), At: at})
			}
		}
		for _, ev := range st.GetEvents() {
			if ev.GetParticipant() == name {
				at := ev.GetAt().AsTime().UTC()
				later(at)
				note(&dashboard.Problem{Round: st.GetRound(), Kind: ev.GetKind(), Reason: ev.GetReason(), At: at})
			}
		}
	}
	return last, seen
}

// Round is one round with its ledger record.
func (s dashboardSource) Round(n uint64) (dashboard.RoundDetail, error) {
	e := s.e
	st, err := e.store.Round(n)
	if errors.Is(err, store.ErrNotFound) {
		return dashboard.RoundDetail{}, fmt.Errorf("round %d does not exist: %w", n, dashboard.ErrNotFound)
	}
	if err != nil {
		return dashboard.RoundDetail{}, fmt.Errorf("dashboard round %d: %w", n, err)
	}
	d := dashboard.RoundDetail{RoundSummary: roundSummary(st, e.now()), Federation: e.rc.Federation, ConfigSHA256: hexs(e.cfgSHA[:])}
	if d.PreviousRound, d.NextRound, err = neighbours(e.store, n); err != nil {
		return dashboard.RoundDetail{}, fmt.Errorf("dashboard round %d: %w", n, err)
	}
	if terminal(st.GetState()) {
		if d.Ledger, err = ledgerRecordOf(e.store, n); err != nil {
			return dashboard.RoundDetail{}, fmt.Errorf("dashboard round %d: %w", n, err)
		}
	}
	return d, nil
}

// neighbours are the rounds before and after n that exist (rounds are
// numbered without gaps from 0), nil where there is none.
func neighbours(st *store.Store, n uint64) (prev, next *uint64, err error) {
	exists := func(r uint64) (*uint64, error) {
		_, err := st.Round(r)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return &r, nil
	}
	if n > 0 {
		if prev, err = exists(n - 1); err != nil {
			return nil, nil, err
		}
	}
	if n < math.MaxUint64 {
		next, err = exists(n + 1)
	}
	return prev, next, err
}

// ledgerRecordOf finds the record of round n, newest first; nil if none.
func ledgerRecordOf(st *store.Store, n uint64) (*dashboard.LedgerRecord, error) {
	entries, err := st.Ledger()
	if err != nil {
		return nil, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		rec, err := ledger.Parse(entries[i].Canonical)
		if err != nil {
			return nil, fmt.Errorf("ledger record %d: %w", entries[i].Index, err)
		}
		if rec.Kind == ledger.KindRound && rec.Round == n {
			return ledgerRecordView(entries[i], rec), nil
		}
	}
	return nil, nil
}

func ledgerRecordView(en ledger.Entry, rec ledger.Record) *dashboard.LedgerRecord {
	v := &dashboard.LedgerRecord{
		Index: en.Index, SHA256: hexs(en.SHA256[:]), Prev: rec.Prev, State: rec.State, Reason: rec.Reason,
		ModelSHA256: rec.ModelSHA256, ParentSHA256: rec.ParentSHA256, ModelSize: rec.ModelSize,
		Participants: []dashboard.LedgerParticipant{}, TEEKind: rec.TEEKind, Insecure: rec.Insecure,
		EvidenceKind: rec.EvidenceKind, EvidenceSHA256: rec.EvidenceSHA256, SignerKey: hexs(rec.SignerPublicKey), Time: rec.Time,
	}
	for _, p := range rec.Participants {
		v.Participants = append(v.Participants, dashboard.LedgerParticipant{Name: p.Name, NumExamples: p.NumExamples, UpdateSHA256: p.UpdateSHA256})
	}
	if len(rec.Claims) > 0 {
		v.Claims = claimsView(rec.Claims)
	}
	return v
}

// claimsView reads a ledger claims summary (see ledger.ClaimsSummary).
func claimsView(c map[string]string) *dashboard.Attestation {
	a := &dashboard.Attestation{Kind: c[ledger.ClaimKind], Measurement: c[ledger.ClaimMeasurement], TCB: c[ledger.ClaimTCB]}
	a.Insecure, _ = strconv.ParseBool(c[ledger.ClaimInsecure])
	a.Debug, _ = strconv.ParseBool(c[ledger.ClaimDebug])
	if t, err := time.Parse(time.RFC3339Nano, c[ledger.ClaimVerifiedAt]); err == nil {
		a.VerifiedAt = &t
	}
	base := map[string]bool{}
	for _, k := range ledger.ClaimKeys() {
		base[k] = true
	}
	for k, val := range c {
		if !base[k] {
			if a.Details == nil {
				a.Details = map[string]string{}
			}
			a.Details[k] = val
		}
	}
	return a
}

// VerifyLedger verifies the stored ledger against the stored models.
func (s dashboardSource) VerifyLedger() dashboard.LedgerCheck {
	start := time.Now()
	rep, err := s.e.store.VerifyLedger()
	c := dashboard.LedgerCheck{CheckedAt: start.UTC(), Seconds: time.Since(start).Seconds()}
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.OK, c.Records, c.Published, c.Failed = true, rep.Records, rep.Published, rep.Failed
	c.Insecure, c.WithoutEvidence, c.Head = rep.Insecure, rep.WithoutEvidence, hexs(rep.Head[:])
	return c
}

// Backup writes a consistent copy of the database.
func (s dashboardSource) Backup(w io.Writer, size func(int64)) (int64, error) {
	return s.e.store.WriteBackup(w, size)
}
