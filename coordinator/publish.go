package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/round"
	"github.com/confed/confed/coordinator/store"
	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// publishJob is an aggregate being received from the aggregator.
type publishJob struct {
	header   *confedv1.ModelHeader
	verified *manifest.Verified
	round    uint64
}

// beginPublish checks a publish header against the round it claims to
// finish: signature and evidence, signer, round, parent, contributions,
// configuration and size. Nothing is stored unless all of it matches.
func (e *engine) beginPublish(ctx context.Context, s *aggSession, h *confedv1.ModelHeader) (*publishJob, error) {
	if h == nil || h.GetSigned() == nil {
		return nil, errors.New("publish stream must start with a header carrying the signed manifest")
	}
	v, err := manifest.Verify(ctx, h.GetSigned(), e.verifier, e.rc.Federation)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(h.GetSigned().GetSignerPublicKey(), s.pub) {
		return nil, errors.New("manifest is signed by a key other than the one the aggregator attested on connecting")
	}
	mf := v.Manifest
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.isAggregator(s) {
		return nil, errors.New("not the connected aggregator")
	}
	if err := e.checkManifest(mf, h.GetSize()); err != nil {
		return nil, fmt.Errorf("manifest of round %d: %w", mf.GetRound(), err)
	}
	return &publishJob{header: h, verified: v, round: mf.GetRound()}, nil
}

func (e *engine) checkManifest(mf *confedv1.ModelManifest, size uint64) error {
	if !bytes.Equal(mf.GetConfigSha256(), e.cfgSHA[:]) {
		return errors.New("configuration hash differs from the coordinator's round configuration")
	}
	if want := uint64(model.SafetensorsSize(e.spec)); size != want || mf.GetModelSize() != want {
		return fmt.Errorf("model size %d (manifest %d), want %d for the configured model", size, mf.GetModelSize(), want)
	}
	if mf.GetRound() == 0 {
		if !e.initPending || e.latest != nil {
			return errors.New("no initial model was requested")
		}
		if len(mf.GetParentSha256()) != 0 || len(mf.GetContributions()) != 0 {
			return errors.New("the initial model has no parent and no contributions")
		}
		return nil
	}
	m, err := e.current(mf.GetRound())
	if err != nil {
		return err
	}
	if m.State() != round.Aggregating {
		return fmt.Errorf("round is %s, not aggregating", m.State())
	}
	if !bytes.Equal(mf.GetParentSha256(), e.latest.sha[:]) {
		return fmt.Errorf("parent model %x is not the latest published model %x", mf.GetParentSha256(), e.latest.sha[:])
	}
	if err := e.checkPrivacy(mf); err != nil {
		return err
	}
	if err := e.checkTreeManifest(mf); err != nil {
		return err
	}
	return checkContributions(mf.GetContributions(), m.Status(), e.updateSHA)
}

// checkContributions requires the manifest to list exactly the included
// participants, with the example counts they reported.
func checkContributions(cs []*confedv1.Contribution, st *confedv1.RoundStatus, shas map[string][]byte) error {
	want := map[string]uint64{}
	for _, s := range st.GetSubmissions() {
		if s.GetIncluded() {
			want[s.GetParticipant()] = s.GetNumExamples()
		}
	}
	if len(cs) != len(want) {
		return fmt.Errorf("manifest lists %d contributions, the round included %d", len(cs), len(want))
	}
	for _, c := range cs {
		n, ok := want[c.GetParticipant()]
		if !ok {
			return fmt.Errorf("manifest lists %q, who was not included", c.GetParticipant())
		}
		if n != c.GetNumExamples() {
			return fmt.Errorf("manifest gives %q %d examples, the participant reported %d", c.GetParticipant(), c.GetNumExamples(), n)
		}
		if !bytes.Equal(shas[c.GetParticipant()], c.GetUpdateSha256()) {
			return fmt.Errorf("manifest gives the update of %q a hash other than the one reported when it was included", c.GetParticipant())
		}
	}
	return nil
}

// receiveModel streams the model into the store while checking that it is a
// well-formed model of the configured shape with finite values.
func (e *engine) receiveModel(job *publishJob, recv func() (*confedv1.PublishRequest, error)) (*confedv1.PublishResponse, error) {
	var sha [32]byte
	w, err := e.store.NewModelWriter(job.round, int(job.header.GetChunkSize()))
	if err != nil {
		return nil, fmt.Errorf("storing model of round %d: %w", job.round, err)
	}
	h := sha256.New()
	dec := model.NewStreamDecoder(e.spec, model.Limits{MaxTotalBytes: int64(job.header.GetSize())}, finiteSink)
	seq := stream.NewSequence(int64(job.header.GetSize()))
	for {
		req, err := recv()
		if errors.Is(err, errEndOfStream) {
			break
		}
		if err == nil {
			err = writeChunk(req, seq, h, dec, w)
		}
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := dec.Close(); err != nil {
		w.Abort()
		return nil, fmt.Errorf("model of round %d: %w", job.round, err)
	}
	copy(sha[:], h.Sum(nil))
	if !bytes.Equal(sha[:], job.verified.Manifest.GetModelSha256()) {
		w.Abort()
		return nil, fmt.Errorf("model bytes hash to %x, the signed manifest says %x", sha, job.verified.Manifest.GetModelSha256())
	}
	entry, err := e.commitModel(job, w, sha)
	if err != nil {
		return nil, err
	}
	return &confedv1.PublishResponse{ModelSha256: sha[:], LedgerRecordSha256: entry.SHA256[:]}, nil
}

func writeChunk(req *confedv1.PublishRequest, seq *stream.Sequence, h interface{ Write([]byte) (int, error) }, dec *model.StreamDecoder, w interface{ Write([]byte) (int, error) }) error {
	data, err := seq.Accept(req.GetChunk())
	if err != nil {
		return err
	}
	h.Write(data)
	if _, err := dec.Write(data); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func finiteSink(offset int, values []float32) error {
	for i, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("parameter %d is not finite", offset+i)
		}
	}
	return nil
}

func (e *engine) commitModel(job *publishJob, w *store.ModelWriter, sha [32]byte) (ledger.Entry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	mf := job.verified.Manifest
	if e.stopping {
		w.Abort()
		return ledger.Entry{}, errStopping
	}
	if err := e.checkManifest(mf, job.header.GetSize()); err != nil {
		w.Abort()
		return ledger.Entry{}, fmt.Errorf("round %d changed while its model was received: %w", job.round, err)
	}
	var st *confedv1.RoundStatus
	if job.round == 0 {
		now := timestamppb.New(e.now())
		st = &confedv1.RoundStatus{Round: 0, State: confedv1.RoundState_ROUND_STATE_PUBLISHED,
			Reason: "initial model", OpenedAt: now, ClosedAt: now, FinishedAt: now}
	} else {
		if err := e.m.Published(sha[:], e.now()); err != nil {
			w.Abort()
			return ledger.Entry{}, err
		}
		st = e.m.Status()
	}
	st = e.decorate(st)
	st.ModelSha256 = sha[:]
	pst, prec, keep, err := e.privacyOnPublish(job.round, mf)
	if err != nil {
		w.Abort()
		return ledger.Entry{}, err
	}
	st.Privacy = pst
	rec := e.publishedRecord(job, sha)
	rec.Privacy = prec
	entry, err := w.Commit(job.header.GetSigned(), job.header.GetSize(), sha, st, rec)
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("committing model of round %d: %w", job.round, err)
	}
	keep()
	e.log.Info("model published", logging.KeyRound, job.round, logging.KeyModelSHA, hexs(sha[:]),
		"ledger_index", entry.Index, logging.KeyInsecure, job.verified.Claims.Insecure)
	e.latest = &published{round: job.round, sha: sha}
	if job.round == 0 {
		e.initPending = false
	} else {
		e.m = nil
		e.metrics.roundEnded("published")
		e.published++
		e.failures = 0
	}
	e.waitSince = e.now()
	e.notify()
	return entry, nil
}

func (e *engine) publishedRecord(job *publishJob, sha [32]byte) ledger.Record {
	mf := job.verified.Manifest
	signed := job.header.GetSigned()
	parts := make([]ledger.Participant, 0, len(mf.GetContributions()))
	for _, c := range mf.GetContributions() {
		parts = append(parts, ledger.Participant{Name: c.GetParticipant(), NumExamples: c.GetNumExamples(), UpdateSHA256: hexs(c.GetUpdateSha256())})
	}
	slices.SortFunc(parts, func(a, b ledger.Participant) int { return cmpString(a.Name, b.Name) })
	evSHA := sha256.Sum256(signed.GetEvidence().GetRaw())
	return ledger.Record{
		Kind: "round", Federation: e.rc.Federation, Round: job.round, State: "published",
		ConfigSHA256: hexs(e.cfgSHA[:]), Participants: parts,
		ModelSHA256: hexs(sha[:]), ParentSHA256: hexs(mf.GetParentSha256()), ModelSize: mf.GetModelSize(),
		Manifest: signed.GetManifest(), Signature: signed.GetSignature(), SignerPublicKey: signed.GetSignerPublicKey(),
		TEEKind: job.verified.Claims.Kind, Insecure: job.verified.Claims.Insecure,
		EvidenceKind: signed.GetEvidence().GetKind(), EvidenceSHA256: hexs(evSHA[:]),
		Evidence: bytes.Clone(signed.GetEvidence().GetRaw()), Claims: ledger.ClaimsSummary(job.verified.Claims),
		Tree: ledger.TreeOf(mf), Time: e.now().UTC(),
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// errEndOfStream is returned by a receive function at the end of a stream.
var errEndOfStream = errors.New("end of stream")
