package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/tee/simulated"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// The Stream rows send the same update bytes, in ChunkSize pieces, over
// loopback in this process: once as a bare gRPC client stream over mutual
// TLS 1.3 to a server that discards them (the baseline), once as a
// participant submits an update to a real aggregator (attested transport,
// HPKE-sealed chunks, SubmitUpdate handler with admission and report to a
// real coordinator, ingest and fold). One operation is one submission:
// dial, handshake, stream, response, close, as the participant daemon does
// for every update. The model is the logistic regression of the round
// configuration (F features: bias, input_mean, input_sq_mean, weight; 3F+1
// parameters; the round configuration allows F ≤ 1 000 000, 12 MB).

const streamFederation = "bench"

// streamParticipants is how many participants the Stream federation
// expects: each round takes one update from each, then the next round
// opens (with the timer stopped).
const streamParticipants = 16

// streamUpdate returns the spec of the F-feature logistic regression and
// the canonical encoding of an update of it (values |v| < 0.01).
func streamUpdate(f int) (model.Spec, []byte, error) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: f, Init: model.InitZeros})
	if err != nil {
		return nil, nil, err
	}
	spec := m.Spec()
	flat := make([]float32, spec.NumParams())
	Fill(flat, 21)
	for i := range flat {
		flat[i] *= 0.01
	}
	upd, err := model.FromFlat(spec, flat)
	if err != nil {
		return nil, nil, err
	}
	enc := model.EncodeSafetensors(upd)
	if enc == nil {
		return nil, nil, errors.New("encoding the update failed")
	}
	return spec, enc, nil
}

// streamPKI is a federation CA in a temporary directory with an
// aggregator's (server) and participants' (client) credentials.
type streamPKI struct {
	dir   string
	ca    *pki.CA
	files map[string]pki.Files
}

func newStreamPKI() (*streamPKI, error) {
	dir, err := os.MkdirTemp("", "confed-bench-stream-")
	if err != nil {
		return nil, err
	}
	ca, err := pki.InitCA(filepath.Join(dir, "ca"), streamFederation, time.Now(), 24*time.Hour)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &streamPKI{dir: dir, ca: ca, files: map[string]pki.Files{}}, nil
}

func (p *streamPKI) issue(role pki.Role, name string, hosts ...string) (pki.Files, error) {
	if f, ok := p.files[name]; ok {
		return f, nil
	}
	f, err := pki.IssueToDir(p.ca, pki.IssueRequest{
		Identity: pki.Identity{Federation: streamFederation, Role: role, Name: name},
		Hosts:    hosts, Validity: time.Hour, Now: time.Now(),
	}, filepath.Join(p.dir, "pki", name))
	if err != nil {
		return pki.Files{}, err
	}
	p.files[name] = f
	return f, nil
}

func (p *streamPKI) close() { os.RemoveAll(p.dir) }

// discardDesc is the baseline's service: one client stream of
// google.protobuf.BytesValue messages, answered with Empty once the client
// closes. The server drops every message.
var discardDesc = grpc.ServiceDesc{
	ServiceName: "confed.bench.Discard",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Upload",
		ClientStreams: true,
		Handler: func(_ any, s grpc.ServerStream) error {
			for {
				var m wrapperspb.BytesValue
				if err := s.RecvMsg(&m); err != nil {
					if errors.Is(err, io.EOF) {
						return s.SendMsg(&emptypb.Empty{})
					}
					return err
				}
			}
		},
	}},
}

// StreamGRPC measures the baseline: one operation dials a new connection
// (mutual TLS 1.3 with the federation's certificates, gRPC defaults), sends
// the encoded F-feature update as 1 MiB google.protobuf.BytesValue messages
// on one client stream to a server in this process that discards them, and
// waits for its answer. Bytes per op: the encoded update.
func StreamGRPC(b *testing.B, f int) {
	_, enc, err := streamUpdate(f)
	if err != nil {
		Fatal(b, "update: %v", err)
	}
	p, err := newStreamPKI()
	if err != nil {
		Fatal(b, "pki: %v", err)
	}
	defer p.close()
	srvFiles, err := p.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	if err != nil {
		Fatal(b, "issue: %v", err)
	}
	cliFiles, err := p.issue(pki.RoleParticipant, "p00")
	if err != nil {
		Fatal(b, "issue: %v", err)
	}
	srvTLS, err := pki.ServerTLS(srvFiles)
	if err != nil {
		Fatal(b, "server TLS: %v", err)
	}
	cliTLS, err := pki.ClientTLSFor(cliFiles, "127.0.0.1", pki.RoleAggregator)
	if err != nil {
		Fatal(b, "client TLS: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		Fatal(b, "listen: %v", err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(srvTLS)))
	srv.RegisterService(&discardDesc, struct{}{})
	go srv.Serve(lis)
	defer srv.Stop()
	creds := credentials.NewTLS(cliTLS)
	ctx := context.Background()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var cpu cpuClock
	cpu.resume()
	for b.Loop() {
		if err := discardUpload(ctx, lis.Addr().String(), creds, enc); err != nil {
			Fatal(b, "bare stream: %v", err)
		}
	}
	cpu.pause()
	cpu.report(b)
}

// CPUMetric is the Stream rows' process CPU time (user + system, all
// threads: client and server together) per operation, timed parts only.
// Unlike ns/op it hardly depends on what else the machine runs, so the
// ratio of two rows' cpu-ns/op compares their work when the machine is
// busy.
const CPUMetric = "cpu-ns/op"

// cpuClock sums the process's CPU time over the timed parts of a benchmark.
type cpuClock struct{ start, total time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) resume() { c.start = processCPU() }
func (c *cpuClock) pause()  { c.total += processCPU() - c.start }

func (c *cpuClock) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(c.total)/float64(b.N), CPUMetric)
	}
}

func discardUpload(ctx context.Context, addr string, creds credentials.TransportCredentials, enc []byte) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	s, err := conn.NewStream(ctx, &discardDesc.Streams[0], "/confed.bench.Discard/Upload")
	if err != nil {
		return err
	}
	for off := 0; off < len(enc); off += ChunkSize {
		if err := s.SendMsg(&wrapperspb.BytesValue{Value: enc[off:min(off+ChunkSize, len(enc))]}); err != nil {
			return err
		}
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(&emptypb.Empty{})
}

// StreamConfed measures confed's submission path: a coordinator
// (coordinator.Run, bbolt file in a temporary directory) and an aggregator
// (aggregator.Run, simulated TEE, default configuration) in this process,
// and streamParticipants participants that watch for tasks. One operation
// is one participant's submission for the current round, as the participant
// daemon makes it: a new connection over the attested transport
// (internal/atls, TLS 1.3 and the aggregator's simulated evidence, checked
// to bind the round's HPKE key), SubmitUpdate with the header, the encoded
// update sealed chunk by chunk (internal/seal), and the answer. On the
// aggregator that is the real handler: header checks, admission by the
// coordinator, HPKE open, ingest into a staging buffer, report to the
// coordinator and, once included, the fold. When every participant has
// submitted, the timer stops while the round closes, the aggregate is
// published and the next round opens. The update bytes are encoded once
// (the participant daemon encodes its model while sending). Bytes per op:
// the encoded update. Baseline: StreamGRPC.
func StreamConfed(b *testing.B, f int) {
	spec, enc, err := streamUpdate(f)
	if err != nil {
		Fatal(b, "update: %v", err)
	}
	fed, err := startStreamFederation(f)
	if err != nil {
		Fatal(b, "federation: %v", err)
	}
	defer fed.stop()
	sum := sha256.Sum256(enc)
	if model.SafetensorsSize(spec) != int64(len(enc)) {
		Fatal(b, "update of %d bytes, the spec needs %d", len(enc), model.SafetensorsSize(spec))
	}
	ctx := context.Background()
	// The first round's tasks, before timing.
	first, err := fed.nextTask(2 * time.Minute)
	if err != nil {
		Fatal(b, "%v", err)
	}
	pending := []trainTask{first}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var cpu cpuClock
	cpu.resume()
	for b.Loop() {
		if len(pending) == 0 {
			b.StopTimer()
			cpu.pause()
			t, err := fed.nextTask(2 * time.Minute)
			if err != nil {
				Fatal(b, "%v", err)
			}
			pending = append(pending, t)
			cpu.resume()
			b.StartTimer()
		}
		t := pending[0]
		pending = pending[1:]
		if err := fed.submit(ctx, t, bytes.NewReader(enc), int64(len(enc)), sum, 100); err != nil {
			Fatal(b, "%s, round %d: %v%s", t.participant, t.task.GetRound(), err, fed.logs.String())
		}
		pending = append(pending, fed.readyTasks()...)
	}
	cpu.pause()
	cpu.report(b)
}

// trainTask is a TRAIN task received by one participant.
type trainTask struct {
	participant string
	task        *confedv1.Task
}

// streamFederation is a coordinator, an aggregator and the watchers of the
// participants, in this process.
type streamFed struct {
	pki    *streamPKI
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
	logs   *logTail
	tasks  chan trainTask
	// client TLS per participant, towards the aggregator
	aggTLS   map[string]*tls.Config
	verifier tee.Verifier
}

// benchRoundYAML is the round configuration of the bench federations:
// federation, rounds, features, expected participants, then extra
// sections (ending in a newline) before the tee section.
const benchRoundYAML = `federation: %s
rounds: %d
model:
  kind: logistic_regression
  features: %d
  init: zeros
participants:
  expected: [%s]
timing:
  join_timeout: 1h
  aggregator_ready_timeout: 5m
  round_deadline: 1h
  aggregation_timeout: 10m
%stee:
  aggregator: simulated
`

// newBenchFed returns an empty federation harness for n participants,
// their names (p000, p001, …) and the round configuration written for
// them, and the context its daemons run in.
func newBenchFed(n, rounds, features int, extra string) (fed *streamFed, ctx context.Context, names []string, roundConfig string, err error) {
	p, err := newStreamPKI()
	if err != nil {
		return nil, nil, nil, "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	fed = &streamFed{pki: p, cancel: cancel, errs: make(chan error, 4), logs: &logTail{},
		tasks: make(chan trainTask, 4*n), aggTLS: map[string]*tls.Config{}, verifier: simulatedVerifier()}
	names = make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p%03d", i)
	}
	roundConfig = filepath.Join(p.dir, "federation.yaml")
	yaml := fmt.Appendf(nil, benchRoundYAML, streamFederation, rounds, features, strings.Join(names, ", "), extra)
	if err := os.WriteFile(roundConfig, yaml, 0o644); err != nil {
		fed.stop()
		return nil, nil, nil, "", err
	}
	return fed, ctx, names, roundConfig, nil
}

// startCoordinator runs a coordinator on lis for the round configuration,
// telling participants to submit to aggAddr.
func (fed *streamFed) startCoordinator(ctx context.Context, lis net.Listener, roundConfig, aggAddr string) error {
	files, err := fed.pki.issue(pki.RoleCoordinator, "coordinator", "127.0.0.1")
	if err != nil {
		return err
	}
	cfg := coordinator.Default()
	cfg.Listen = lis.Addr().String()
	cfg.Database = filepath.Join(fed.pki.dir, "coordinator.db")
	cfg.RoundConfig = roundConfig
	cfg.AggregatorAddress = aggAddr
	cfg.TLS = yamlcfg.TLSFiles(files)
	log := slog.New(slog.NewTextHandler(fed.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fed.run(func() error {
		return coordinator.Run(ctx, cfg, coordinator.Options{InsecureSimulatedTEE: true, Listener: lis,
			Logger: log.With("daemon", "coordinator"), Tick: 10 * time.Millisecond})
	})
	return nil
}

func startStreamFederation(f int) (fed *streamFed, err error) {
	fed, ctx, names, roundConfig, err := newBenchFed(streamParticipants, 100000, f, "")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			fed.stop()
			err = fmt.Errorf("%w%s", err, fed.logs.String())
		}
	}()
	aggFiles, err := fed.pki.issue(pki.RoleAggregator, "aggregator", "127.0.0.1")
	if err != nil {
		return fed, err
	}
	coordLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fed, err
	}
	aggLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		coordLis.Close()
		return fed, err
	}
	if err := fed.startCoordinator(ctx, coordLis, roundConfig, aggLis.Addr().String()); err != nil {
		coordLis.Close()
		aggLis.Close()
		return fed, err
	}
	log := slog.New(slog.NewTextHandler(fed.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	acfg := aggregator.Default()
	acfg.Attestation = provider.Policy{TEE: "simulated"}
	acfg.Listen = aggLis.Addr().String()
	acfg.Coordinator = coordLis.Addr().String()
	acfg.TLS = yamlcfg.TLSFiles(aggFiles)
	fed.run(func() error {
		return aggregator.Run(ctx, acfg, aggregator.Options{InsecureSimulatedTEE: true, Listener: aggLis,
			Logger: log.With("daemon", "aggregator")})
	})
	return fed, fed.watchAll(ctx, coordLis.Addr().String(), names)
}

// watchAll issues the participants' credentials and watches their tasks
// at the coordinator at addr.
func (fed *streamFed) watchAll(ctx context.Context, addr string, names []string) error {
	for _, name := range names {
		files, err := fed.pki.issue(pki.RoleParticipant, name)
		if err != nil {
			return err
		}
		if fed.aggTLS[name], err = pki.ClientTLSFor(files, "127.0.0.1", pki.RoleAggregator); err != nil {
			return err
		}
		coordTLS, err := pki.ClientTLSFor(files, "127.0.0.1", pki.RoleCoordinator)
		if err != nil {
			return err
		}
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(coordTLS)))
		if err != nil {
			return err
		}
		fed.run(func() error {
			defer conn.Close()
			return fed.watch(ctx, confedv1.NewFederationClient(conn), name)
		})
	}
	return nil
}

// simulatedVerifier accepts the insecure simulated TEE's evidence.
func simulatedVerifier() tee.Verifier {
	return simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true})
}

// run runs fn until the federation stops; an error it returns before then
// is kept for nextTask to report.
func (fed *streamFed) run(fn func() error) {
	fed.wg.Go(func() {
		if err := fn(); err != nil {
			select {
			case fed.errs <- err:
			default:
			}
		}
	})
}

// watch passes the participant's TRAIN tasks, each round once, to fed.tasks.
func (fed *streamFed) watch(ctx context.Context, fc confedv1.FederationClient, name string) error {
	var last uint64
	for ctx.Err() == nil {
		s, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
		if err != nil {
			time.Sleep(20 * time.Millisecond) // the coordinator is starting
			continue
		}
		for {
			t, err := s.Recv()
			if err != nil {
				break
			}
			if t.GetKind() == confedv1.TaskKind_TASK_KIND_TRAIN && t.GetRound() > last {
				last = t.GetRound()
				select {
				case fed.tasks <- trainTask{participant: name, task: t}:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
	return nil
}

// nextTask waits for the next TRAIN task.
func (fed *streamFed) nextTask(timeout time.Duration) (trainTask, error) {
	select {
	case t := <-fed.tasks:
		return t, nil
	case err := <-fed.errs:
		return trainTask{}, fmt.Errorf("a daemon stopped: %v%s", err, fed.logs.String())
	case <-time.After(timeout):
		return trainTask{}, fmt.Errorf("no task within %s%s", timeout, fed.logs.String())
	}
}

// readyTasks returns the tasks already received.
func (fed *streamFed) readyTasks() []trainTask {
	var ts []trainTask
	for {
		select {
		case t := <-fed.tasks:
			ts = append(ts, t)
		default:
			return ts
		}
	}
}

// submit sends the update read from r (size bytes, SHA-256 sum, for
// numExamples examples) as participant t.participant does for task t.
func (fed *streamFed) submit(ctx context.Context, t trainTask, r io.Reader, size int64, sum [32]byte, numExamples uint64) error {
	round := t.task.GetRound()
	conn, err := submit.Dial{Address: t.task.GetAggregatorAddress(), TLS: fed.aggTLS[t.participant],
		Federation: streamFederation, Round: round, Verifier: fed.verifier}.Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(ctx)
	if err != nil {
		return err
	}
	sealer, err := submit.Sealer(up.Context(), streamFederation, round, t.participant)
	if err != nil {
		return err
	}
	h := &confedv1.UpdateHeader{Round: round, NumExamples: numExamples, BaseModelSha256: t.task.GetGlobalModelSha256(),
		Size: uint64(size), UpdateSha256: sum[:], SealedStream: sealer.Header()}
	resp, err := submit.SendUpdate(up, h, func() error { return submit.SendSealedStream(r, ChunkSize, sealer, up.SendMsg) })
	if err != nil {
		return err
	}
	if !resp.GetAccepted() {
		return fmt.Errorf("update refused: %s", resp.GetReason())
	}
	return nil
}

// stop ends the daemons and removes the temporary directory.
func (fed *streamFed) stop() {
	fed.cancel()
	done := make(chan struct{})
	go func() { fed.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	fed.pki.close()
}

// logTail keeps the last lines the daemons logged (warnings and errors), to
// explain a failure.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(p)))
	if len(l.lines) > 12 {
		l.lines = l.lines[len(l.lines)-12:]
	}
	return len(p), nil
}

// String is "" or the lines, each on its own line after a newline.
func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if !strings.Contains(s, "INSECURE") {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "\ndaemon logs:\n  " + strings.Join(out, "\n  ")
}
