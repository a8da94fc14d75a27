package dashboard

import (
	"errors"
	"io"
	"time"

	"github.com/confed/confed/coordinator/round"
)

// Source is what the dashboard shows: read-only snapshots of the
// federation, taken by the coordinator on each call.
type Source interface {
	// Overview is the federation, its participants, its aggregator and a
	// summary of every round.
	Overview() (Overview, error)
	// Round is one round with its ledger record; an error wrapping
	// ErrNotFound when there is no such round.
	Round(n uint64) (RoundDetail, error)
	// VerifyLedger verifies the whole stored ledger, models included.
	VerifyLedger() LedgerCheck
	// Backup writes a consistent copy of the coordinator's database,
	// calling size with its length before the first byte.
	Backup(w io.Writer, size func(int64)) (int64, error)
	// Subscribe returns a channel signalled whenever the federation
	// changes, and a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
	// Done is closed when the coordinator shuts down.
	Done() <-chan struct{}
}

// ErrNotFound is wrapped by Source.Round for a round that does not exist.
var ErrNotFound = errors.New("not found")

// Number is a float64 that survives JSON when it is NaN or ±Inf (as the
// strings "NaN", "+Inf", "-Inf"): a refused update may have a non-finite
// norm.
type Number = round.Float64

// Overview is GET /api/overview.
type Overview struct {
	Federation   string `json:"federation"`
	ConfigSHA256 string `json:"config_sha256"`
	// PlannedRounds is the number of training rounds to publish; rounds
	// are numbered from 1, round 0 is the initial model.
	PlannedRounds   int    `json:"planned_rounds"`
	PublishedRounds int    `json:"published_rounds"`
	Finished        bool   `json:"finished"`
	FinishMessage   string `json:"finish_message,omitempty"`
	// CurrentRound is the round in progress, absent between rounds.
	CurrentRound *uint64 `json:"current_round,omitempty"`
	// Insecure is true when the aggregator's TEE is the INSECURE simulated
	// one: nothing is protected by hardware.
	Insecure     bool              `json:"insecure"`
	Aggregator   AggregatorView    `json:"aggregator"`
	Participants []ParticipantView `json:"participants"`
	Aggregation  AggregationView   `json:"aggregation"`
	// SecureAggregation and Privacy are secure aggregation (masking) and
	// differential privacy; null means off / not configured. The
	// dashboard shows their settings as given, and invents none. Privacy's
	// Spent is the ε spent by the published rounds (at the configured δ),
	// Budget privacy.epsilon_budget; each round's own share is in
	// RoundSummary.Privacy.
	SecureAggregation *FeatureView   `json:"secure_aggregation"`
	Privacy           *FeatureView   `json:"privacy"`
	Rounds            []RoundSummary `json:"rounds"`
	GeneratedAt       time.Time      `json:"generated_at"`
}

// FeatureView is an optional feature's configuration, shown as key/value
// pairs.
type FeatureView struct {
	Enabled  bool              `json:"enabled"`
	Settings map[string]string `json:"settings,omitempty"`
	// Spent and Budget are a privacy budget's use so far and total, when
	// the feature has one (ε for differential privacy).
	Spent  *Number `json:"spent,omitempty"`
	Budget *Number `json:"budget,omitempty"`
}

// AggregatorView is the aggregator as the coordinator sees it.
type AggregatorView struct {
	// Address is what participants are told to dial.
	Address string `json:"address"`
	// TEE is the kind the round configuration requires.
	TEE       string `json:"tee"`
	Connected bool   `json:"connected"`
	Name      string `json:"name,omitempty"`
	// Attestation is what the coordinator verified of the connected
	// aggregator's evidence.
	Attestation *Attestation `json:"attestation,omitempty"`
	// LastRefusal is the last time the coordinator refused an aggregator,
	// and why.
	LastRefusal *Refusal `json:"last_refusal,omitempty"`
}

// Attestation is what a verifier established from TEE evidence.
type Attestation struct {
	Kind string `json:"kind"`
	// Insecure marks the simulated TEE: the claims prove nothing.
	Insecure    bool              `json:"insecure"`
	Measurement string            `json:"measurement,omitempty"` // hex
	TCB         string            `json:"tcb,omitempty"`
	Debug       bool              `json:"debug"`
	VerifiedAt  *time.Time        `json:"verified_at,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
}

// Refusal is a peer the coordinator refused.
type Refusal struct {
	Peer   string    `json:"peer"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// ParticipantView is one participant of the federation.
type ParticipantView struct {
	Name string `json:"name"`
	// Member is false for a participant seen before but no longer in
	// participants.expected (its access is revoked).
	Member    bool       `json:"member"`
	Connected bool       `json:"connected"`
	FirstSeen *time.Time `json:"first_seen,omitempty"`
	// LastSeen is the latest of its last join, submission and report.
	LastSeen        *time.Time `json:"last_seen,omitempty"`
	CertSHA256      string     `json:"cert_sha256,omitempty"`
	SoftwareVersion string     `json:"software_version,omitempty"`
	// Attestation says what the participant must attest to. The
	// aggregator verifies participants' evidence; it does not report the
	// claims to the coordinator, so none are shown.
	Attestation string `json:"attestation"`
	// LastProblem is the latest refusal of its submission or problem it
	// reported.
	LastProblem *Problem `json:"last_problem,omitempty"`
}

// Problem is a refused submission or a participant's report.
type Problem struct {
	Round  uint64    `json:"round"`
	Kind   string    `json:"kind"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// AggregationView is how updates are combined.
type AggregationView struct {
	Strategy        string            `json:"strategy"`
	TrimFraction    float64           `json:"trim_fraction,omitempty"`
	Byzantine       int               `json:"byzantine,omitempty"`
	MultiKrumM      int               `json:"multikrum_m,omitempty"`
	ClipNorm        float64           `json:"clip_norm"`
	MaxUpdateNorm   float64           `json:"max_update_norm"`
	MaxUpdateBytes  uint64            `json:"max_update_bytes"`
	ServerOptimizer map[string]string `json:"server_optimizer"`
	// FixedPoint is null when updates travel as float32.
	FixedPoint      *FixedPointView `json:"fixed_point"`
	MinParticipants int             `json:"min_participants"`
	Expected        []string        `json:"expected_participants"`
	ParticipantsTEE string          `json:"participants_tee"`
}

// FixedPointView is the ring of fixed-point aggregation.
type FixedPointView struct {
	Bits      int     `json:"bits"`
	Clip      float64 `json:"clip"`
	Scale     float64 `json:"scale"`
	MaxWeight uint64  `json:"max_weight"`
}

// RoundSummary is one round in GET /api/overview and /api/rounds.
type RoundSummary struct {
	Round    uint64     `json:"round"`
	State    string     `json:"state"`
	Reason   string     `json:"reason,omitempty"`
	OpenedAt *time.Time `json:"opened_at,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// ClosedAt is when collection closed; FinishedAt when the round was
	// published (after aggregation and the model's upload) or failed.
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// DurationSeconds is the whole round, from opening to publication or
	// failure (collection, aggregation and publication), or to now while
	// the round runs.
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	// CollectionSeconds is from opening to the close of collection, or to
	// now while updates are collected.
	CollectionSeconds *float64 `json:"collection_seconds,omitempty"`
	// Privacy is the round's differential-privacy accounting; absent
	// without DP.
	Privacy         *RoundPrivacy `json:"privacy,omitempty"`
	Included        int           `json:"included"`
	Expected        int           `json:"expected"`
	MinParticipants int           `json:"min_participants"`
	ModelSHA256     string        `json:"model_sha256,omitempty"`
	TEEKind         string        `json:"tee_kind,omitempty"`
	Insecure        bool          `json:"insecure"`
	// Statistics marks the round in which participants sent feature
	// statistics instead of trained weights.
	Statistics bool `json:"statistics"`
	// Global are metrics of the global model the round started from,
	// evaluated by the included participants on their own test sets and
	// averaged weighted by test examples (global_accuracy, global_loss,
	// global_auc).
	Global      map[string]Number `json:"global,omitempty"`
	Submissions []SubmissionView  `json:"submissions"`
	Events      []EventView       `json:"events"`
}

// RoundPrivacy is what a round spends of the privacy budget.
type RoundPrivacy struct {
	Mode string `json:"mode"`
	// EpsilonRound is what this round adds (0 when it released nothing
	// private: failed, or the feature-statistics round); EpsilonTotal is
	// the federation's ε after it.
	EpsilonRound    Number `json:"epsilon_round"`
	EpsilonTotal    Number `json:"epsilon_total"`
	EpsilonBudget   Number `json:"epsilon_budget"`
	Delta           Number `json:"delta"`
	NoiseMultiplier Number `json:"noise_multiplier"`
	ClipNorm        Number `json:"clip_norm"`
	// Projected is true while the round runs: the values are what it will
	// spend if it publishes.
	Projected bool   `json:"projected"`
	Note      string `json:"note,omitempty"`
}

// SubmissionView is a participant's latest attempt in a round.
type SubmissionView struct {
	Participant string            `json:"participant"`
	Accepted    bool              `json:"accepted"`
	Included    bool              `json:"included"`
	Reason      string            `json:"reason,omitempty"`
	NumExamples uint64            `json:"num_examples"`
	UpdateNorm  Number            `json:"update_norm"`
	Metrics     map[string]Number `json:"metrics,omitempty"`
	At          *time.Time        `json:"at,omitempty"`
}

// EventView is a problem a participant reported during a round.
type EventView struct {
	Participant string     `json:"participant"`
	Kind        string     `json:"kind"`
	Reason      string     `json:"reason"`
	At          *time.Time `json:"at,omitempty"`
}

// RoundDetail is GET /api/rounds/N.
type RoundDetail struct {
	RoundSummary
	Federation   string `json:"federation"`
	ConfigSHA256 string `json:"config_sha256"`
	// PreviousRound and NextRound are the neighbouring rounds that exist,
	// absent at either end.
	PreviousRound *uint64 `json:"previous_round,omitempty"`
	NextRound     *uint64 `json:"next_round,omitempty"`
	// Ledger is the round's ledger record, absent while the round runs.
	Ledger *LedgerRecord `json:"ledger,omitempty"`
}

// LedgerRecord is a ledger record without its large byte fields (the
// manifest, signature and evidence are summarised by their hashes).
type LedgerRecord struct {
	Index          uint64              `json:"index"`
	SHA256         string              `json:"sha256"`
	Prev           string              `json:"prev"`
	State          string              `json:"state"`
	Reason         string              `json:"reason,omitempty"`
	ModelSHA256    string              `json:"model_sha256,omitempty"`
	ParentSHA256   string              `json:"parent_sha256,omitempty"`
	ModelSize      uint64              `json:"model_size,omitempty"`
	Participants   []LedgerParticipant `json:"participants"`
	TEEKind        string              `json:"tee_kind"`
	Insecure       bool                `json:"insecure"`
	EvidenceKind   string              `json:"evidence_kind,omitempty"`
	EvidenceSHA256 string              `json:"evidence_sha256,omitempty"`
	SignerKey      string              `json:"signer_public_key,omitempty"` // hex
	Claims         *Attestation        `json:"claims,omitempty"`
	Time           time.Time           `json:"time"`
}

// LedgerParticipant is a contribution recorded in the ledger.
type LedgerParticipant struct {
	Name         string `json:"name"`
	NumExamples  uint64 `json:"num_examples"`
	UpdateSHA256 string `json:"update_sha256"`
}

// LedgerCheck is GET /api/ledger/verify.
type LedgerCheck struct {
	OK bool `json:"ok"`
	// Error names the first record that failed, and why.
	Error           string    `json:"error,omitempty"`
	Records         int       `json:"records"`
	Published       int       `json:"published"`
	Failed          int       `json:"failed"`
	Insecure        bool      `json:"insecure"`
	WithoutEvidence int       `json:"without_evidence"`
	Head            string    `json:"head,omitempty"`
	CheckedAt       time.Time `json:"checked_at"`
	Seconds         float64   `json:"seconds"`
}
