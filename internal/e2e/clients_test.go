package e2e

// Helpers for the adversarial and fault-injection tests: raw gRPC clients
// with any certificate, a hand-made update stream, and daemons started one
// at a time with their logs captured.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// dialAs opens a client connection to addr with the credentials of name
// (issued with role the first time), requiring the server to hold
// serverRole. The connection is closed when the test ends.
func (f *fed) dialAs(t *testing.T, role pki.Role, name, addr string, serverRole pki.Role) *grpc.ClientConn {
	t.Helper()
	files := pki.Files(f.issue(role, name))
	tlsCfg, err := pki.ClientTLSFor(files, "127.0.0.1", serverRole)
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(tlsCfg)
	if serverRole == pki.RoleAggregator {
		// The aggregator speaks only the attested transport.
		creds, err = atls.NewClientCredentials(atls.Config{TLS: tlsCfg, Context: atls.Context{Federation: federation},
			Verifier: simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true}), Required: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// lrSpec is the shape of the logistic-regression model of the round
// configurations below (13 features).
func lrSpec(t *testing.T) model.Spec {
	t.Helper()
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: heartdisease.NumFeatures, Init: model.InitZeros})
	if err != nil {
		t.Fatal(err)
	}
	return m.Spec()
}

// fetchModel downloads and verifies the published model of round r through
// the Federation service, as a participant does.
func fetchModel(ctx context.Context, fc confedv1.FederationClient, r uint64, sha []byte, spec model.Spec) (*modelio.Downloaded, error) {
	s, err := fc.DownloadModel(ctx, &confedv1.DownloadModelRequest{Round: proto.Uint64(r)})
	if err != nil {
		return nil, err
	}
	return modelio.Receive(ctx, s, modelio.Expect{Federation: federation,
		Verifier: simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true}),
		Spec:     spec, SHA256: sha, MaxBytes: model.SafetensorsSize(spec)})
}

// upload is a hand-made update stream: a header then chunks, sent exactly
// as given (sequence numbers included).
type upload struct {
	header *confedv1.UpdateHeader
	chunks []*confedv1.Chunk
	// orig is each chunk's position before a test reordered or renumbered
	// the chunks: chunks are sealed in that order, then sent as the test
	// arranged them.
	orig map[*confedv1.Chunk]int
}

// honestUpload is a well-formed update of m for round r from base: its
// declared size and hash match its bytes, sent in chunks of chunk bytes.
func honestUpload(r uint64, base []byte, m *model.Model, chunk int) upload {
	enc := model.EncodeSafetensors(m)
	return rawUpload(r, base, enc, uint64(len(enc)), chunk)
}

// rawUpload sends enc, declaring size and the SHA-256 of enc.
func rawUpload(r uint64, base, enc []byte, size uint64, chunk int) upload {
	sum := sha256.Sum256(enc)
	u := upload{header: &confedv1.UpdateHeader{Round: r, NumExamples: 100, BaseModelSha256: base, Size: size,
		UpdateSha256: sum[:], Metrics: map[string]float64{"train_loss": 0.5}}}
	u.orig = map[*confedv1.Chunk]int{}
	for seq := uint64(0); len(enc) > 0; seq++ {
		n := min(chunk, len(enc))
		c := &confedv1.Chunk{Seq: seq, Data: enc[:n]}
		u.orig[c] = len(u.chunks)
		u.chunks = append(u.chunks, c)
		enc = enc[n:]
	}
	return u
}

// send streams u to the aggregator. A refusal comes back either as a
// response with accepted=false or as a gRPC error (refusals made before any
// data is read); the caller looks at both.
func (u upload) send(ctx context.Context, ac confedv1.AggregatorClient, participant string) (*confedv1.SubmitUpdateResponse, error) {
	s, err := ac.SubmitUpdate(ctx)
	if err != nil {
		return nil, err
	}
	sealed, header, err := u.seal(s.Context(), participant)
	if err != nil {
		return nil, err
	}
	h := proto.Clone(u.header).(*confedv1.UpdateHeader)
	h.SealedStream = header
	if err := s.Send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Header{Header: h}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for _, c := range u.chunks {
		msg := &confedv1.SealedChunk{Seq: c.GetSeq(), Ciphertext: sealed[u.orig[c]], Last: u.orig[c] == len(u.chunks)-1}
		// io.EOF: the server has already answered; CloseAndRecv returns it.
		if err := s.Send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{SealedChunk: msg}}); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return s.CloseAndRecv()
}

// seal seals the chunks, in their original order, to the round key that the
// attested aggregator bound into this stream's connection.
func (u upload) seal(ctx context.Context, participant string) ([][]byte, []byte, error) {
	sealer, err := submit.Sealer(ctx, federation, u.header.GetRound(), participant)
	if err != nil {
		return nil, nil, err
	}
	byOrig := make([]*confedv1.Chunk, len(u.chunks))
	for _, c := range u.chunks {
		byOrig[u.orig[c]] = c
	}
	out := make([][]byte, len(u.chunks))
	for i, c := range byOrig {
		if out[i], err = sealer.Seal(uint64(i), c.GetData(), i == len(u.chunks)-1); err != nil {
			return nil, nil, err
		}
	}
	return out, sealer.Header(), nil
}

// filled returns a model of spec whose every value is v.
func filled(t *testing.T, spec model.Spec, v float32) *model.Model {
	t.Helper()
	flat := make([]float32, spec.NumParams())
	for i := range flat {
		flat[i] = v
	}
	m, err := model.FromFlat(spec, flat)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantCode fails unless err is a gRPC status with code c.
func wantCode(t *testing.T, what string, err error, c codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != c {
		t.Errorf("%s: got %v, want %v", what, err, c)
	}
	return st
}

// eventually polls cond every 20ms until it holds or timeout passes;
// cond returns a description of what it saw for the failure message.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last seen: %s", what, timeout, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// roundOf reads the status of round r from the Operator API (and a
// description for messages).
func roundOf(ctx context.Context, op confedv1.OperatorClient, r uint64) (*confedv1.RoundStatus, string) {
	st, err := op.GetRound(ctx, &confedv1.GetRoundRequest{Round: r})
	if err != nil {
		return nil, err.Error()
	}
	return st, fmt.Sprintf("round %d %v (%s), submissions %v", r, st.GetState(), st.GetReason(), st.GetSubmissions())
}

// submissionOf returns the submission status of participant in st.
func submissionOf(st *confedv1.RoundStatus, participant string) *confedv1.SubmissionStatus {
	for _, s := range st.GetSubmissions() {
		if s.GetParticipant() == participant {
			return s
		}
	}
	return nil
}

// startCoordinatorOn runs a coordinator on lis until ctx ends and returns a
// channel that receives Run's result (an error also goes to f.errs).
func (f *fed) startCoordinatorOn(ctx context.Context, lis net.Listener, log *slog.Logger) <-chan error {
	cfg := f.coordinatorConfig()
	done := make(chan error, 1)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		err := coordinator.Run(ctx, cfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: lis,
			Logger: log, Tick: 20 * time.Millisecond})
		if err != nil {
			f.errs <- err // waitParticipants reports it
		}
		done <- err
	}()
	return done
}

// startParticipant runs the daemon of hospital h; its result goes to
// f.participants like startParticipants'.
func (f *fed) startParticipant(ctx context.Context, h heartdisease.Hospital, log *slog.Logger) {
	cfg := participant.Default()
	cfg.AggregatorAttestation = simulatedPolicy
	cfg.Coordinator = f.coordAddr
	cfg.Data.Path = filepath.Join(dataDir, h.File)
	cfg.TLS = f.issue(pki.RoleParticipant, h.Name)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.participants <- participant.Run(ctx, cfg, participant.Options{InsecureSimulatedTEE: true, ExitWhenFinished: true, Logger: log})
	}()
}

// relisten listens again on addr (a port that a stopped coordinator held).
func relisten(t *testing.T, addr string) net.Listener {
	t.Helper()
	var err error
	for range 50 {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("listening again on %s: %v", addr, err)
	return nil
}

// captured is a slog handler that keeps every record (message and
// attributes as strings) and forwards it to the test log.
type captured struct {
	mu      *sync.Mutex
	records *[]capturedRecord
	attrs   []slog.Attr
	next    slog.Handler
}

type capturedRecord struct {
	Msg   string
	Attrs map[string]string
}

func newCaptured(t *testing.T, name string) (*slog.Logger, *captured) {
	c := &captured{mu: &sync.Mutex{}, records: new([]capturedRecord), next: testLogger(t, name).Handler()}
	return slog.New(c), c
}

func (c *captured) Enabled(ctx context.Context, l slog.Level) bool { return c.next.Enabled(ctx, l) }

func (c *captured) Handle(ctx context.Context, r slog.Record) error {
	rec := capturedRecord{Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range c.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { rec.Attrs[a.Key] = a.Value.String(); return true })
	c.mu.Lock()
	*c.records = append(*c.records, rec)
	c.mu.Unlock()
	return c.next.Handle(ctx, r)
}

func (c *captured) WithAttrs(as []slog.Attr) slog.Handler {
	return &captured{mu: c.mu, records: c.records, attrs: append(slices.Clone(c.attrs), as...), next: c.next.WithAttrs(as)}
}

func (c *captured) WithGroup(g string) slog.Handler {
	return &captured{mu: c.mu, records: c.records, attrs: c.attrs, next: c.next.WithGroup(g)}
}

// find returns the records whose message contains msg.
func (c *captured) find(msg string) []capturedRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []capturedRecord
	for _, r := range *c.records {
		if strings.Contains(r.Msg, msg) {
			out = append(out, r)
		}
	}
	return out
}
