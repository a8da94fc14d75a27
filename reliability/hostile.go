package reliability

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// hostileFeatures keeps hostile updates small (151 parameters).
const hostileFeatures = 50

// hostileCase is one hostile input and the words its refusal must hold.
type hostileCase struct {
	name string
	want []string
	run  func(ctx context.Context) (string, error)
}

// hostileInput runs a federation whose participants must attest, with
// three honest participants and "rogue", an expected participant that
// sends every hostile input of hostileCases to the real aggregator while
// the round collects. Each must be refused with a reason naming the
// problem; the round must go on, and once rogue finally sends an honest
// update it must publish with all four, rogue's honest update included
// once and nothing of its hostile ones.
func hostileInput(c *faultCtx) []Row {
	fail := func(err error) []Row {
		return []Row{{Section: "hostile", Name: "hostile input federation", Tried: 1, Err: err.Error()}}
	}
	f, err := StartFed(FedSpec{Participants: []string{"h000", "h001", "h002", "rogue"}, Min: 3, Features: hostileFeatures,
		RoundDeadline: 2 * time.Minute, MaxConcurrent: 1, StreamIdle: time.Second, ParticipantsTEE: "simulated"})
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	wait, stop, err := rogueTask(f)
	if err != nil {
		return fail(err)
	}
	defer stop()
	honest, err := f.StartSwarm("honest", names("h", 3), SwarmSpec{Seed: 1, ChunkSize: 256, Attest: true})
	if err != nil {
		return fail(err)
	}
	defer honest.Close()
	task, err := wait()
	if err != nil {
		return fail(err)
	}
	issuer, err := simulated.NewIssuer(tee.Options{AllowInsecureSimulated: true})
	if err != nil {
		return fail(err)
	}
	tlsCfg, err := f.PKI.ClientTLS(pki.RoleParticipant, "rogue", pki.RoleAggregator)
	if err != nil {
		return fail(err)
	}
	r := &rogue{task: task, tls: tlsCfg, issuer: issuer, name: "rogue"}
	cases, err := hostileCases(f, r)
	if err != nil {
		return fail(err)
	}
	var rows []Row
	for _, hc := range cases {
		row := Row{Section: "hostile", Name: hc.name, Tried: 1}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		reason, err := hc.run(ctx)
		cancel()
		switch {
		case err != nil:
			row.Err = err.Error()
		case reason == "":
			row.Err = "ACCEPTED"
		default:
			row.Detail = trim(oneLine(reason), 150)
			row.Held = 1
			for _, w := range hc.want {
				if !strings.Contains(reason, w) {
					row.Held, row.Err = 0, fmt.Sprintf("refused, but the reason does not say %q", w)
				}
			}
		}
		rows = append(rows, row)
	}
	rows = append(rows, hostileOutcome(f, r, honest))
	if err := c.finish(f, honest); err != nil {
		rows[len(rows)-1].Err = err.Error()
	}
	return rows
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// hostileOutcome checks that the round went on: still collecting after
// the hostile inputs, honest updates included, and once rogue sends an
// honest update, published with all four.
func hostileOutcome(f *Fed, r *rogue, honest *Swarm) Row {
	row := Row{Section: "hostile", Name: "round went on for honest participants", Tried: 1}
	round := r.task.GetRound()
	st, err := f.Round(round)
	if err != nil || st.GetState() != confedv1.RoundState_ROUND_STATE_COLLECTING {
		row.Err = fmt.Sprintf("round %d after the hostile inputs: %v (%v)", round, st.GetState(), err)
		return row
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, enc, err := lrUpdate(hostileFeatures, 42)
	if err == nil {
		var reason string
		reason, err = r.send(ctx, upload{enc: enc, size: uint64(len(enc)), chunk: 256})
		if err == nil && reason != "" {
			err = fmt.Errorf("rogue's honest update refused: %s", reason)
		}
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	st, err = f.WaitRoundState(round, time.Minute, published, failed)
	switch {
	case err != nil:
		row.Err = err.Error()
	case st.GetState() != published || included(st) != 4:
		row.Err = fmt.Sprintf("round %d: %s with %d included: %s", round, st.GetState(), included(st), st.GetReason())
	default:
		row.Held = 1
		row.Detail = fmt.Sprintf("round %d published with the 3 honest updates and rogue's final honest one, included once", round)
	}
	return row
}

// rogueTask watches as rogue; wait returns its first TRAIN task, stop
// ends the watch.
func rogueTask(f *Fed) (wait func() (*confedv1.Task, error), stop func(), err error) {
	conn, err := f.dialCoordinator("rogue")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop = func() { cancel(); conn.Close() }
	fc := confedv1.NewFederationClient(conn)
	tasks := make(chan *confedv1.Task, 16)
	go func() {
		for ctx.Err() == nil {
			w, err := fc.WatchTasks(ctx, &confedv1.WatchTasksRequest{})
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			for {
				t, err := w.Recv()
				if err != nil {
					break
				}
				if t.GetKind() == confedv1.TaskKind_TASK_KIND_TRAIN {
					select {
					case tasks <- t:
					default:
					}
				}
			}
		}
	}()
	wait = func() (*confedv1.Task, error) {
		select {
		case t := <-tasks:
			return t, nil
		case <-time.After(time.Minute):
			return nil, fmt.Errorf("waited 1m for rogue's TRAIN task%s", f.procLogs())
		}
	}
	return wait, stop, nil
}

// hostileCases builds the hostile inputs.
func hostileCases(f *Fed, r *rogue) ([]hostileCase, error) {
	valid, err := lrModel(hostileFeatures, 5)
	if err != nil {
		return nil, err
	}
	enc := model.EncodeSafetensors(valid)
	size := uint64(len(enc))
	const chunk = 128
	with := func(v float32) []byte {
		m := valid.Clone()
		w, _ := m.Lookup("weight")
		w.Data[3] = v
		return model.EncodeSafetensors(m)
	}
	renamed := valid.Clone()
	for i := range renamed.Tensors {
		if renamed.Tensors[i].Name == "weight" {
			renamed.Tensors[i].Name = "weigxt" // same length and sort position: same size
		}
	}
	_, wider, err := lrUpdate(hostileFeatures+1, 5)
	if err != nil {
		return nil, err
	}
	send := func(u upload) func(context.Context) (string, error) {
		if u.chunk == 0 {
			u.chunk = chunk
		}
		return func(ctx context.Context) (string, error) { return r.send(ctx, u) }
	}
	honestU := func() upload { return upload{enc: enc, size: size} }
	edit := func(h func(*confedv1.UpdateHeader)) upload { u := honestU(); u.header = h; return u }
	chunks := func(c func([]*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest) upload {
		u := honestU()
		u.chunks = c
		return u
	}
	big := make([]byte, 5<<20)
	rand.Read(big)
	junk := []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02} // field 1, length past the end
	other, err := foreignTLS()
	if err != nil {
		return nil, err
	}
	mallory, err := f.PKI.ClientTLS(pki.RoleParticipant, "mallory", pki.RoleAggregator)
	if err != nil {
		return nil, err
	}
	operator, err := f.PKI.ClientTLS(pki.RoleOperator, "operator", pki.RoleAggregator)
	if err != nil {
		return nil, err
	}
	replay := &replayIssuer{inner: r.issuer}
	return []hostileCase{
		{"update with NaN", []string{"non_finite", "NaN"}, send(upload{enc: with(float32(math.NaN())), size: size})},
		{"update with +Inf", []string{"non_finite", "+Inf"}, send(upload{enc: with(float32(math.Inf(1))), size: size})},
		{"wrong shape (tensor renamed, same size)", []string{"wrong_shape"}, send(upload{enc: model.EncodeSafetensors(renamed), size: size})},
		{"wrong size (one feature more)", []string{"size_mismatch"}, send(upload{enc: wider, size: uint64(len(wider))})},
		{"oversized stream declared (size + 1 MiB)", []string{"size_mismatch"}, send(upload{enc: enc, size: size + 1<<20})},
		{"far more data than declared", []string{"exceeds"}, send(upload{enc: append(slices.Clone(enc), make([]byte, 64<<10)...), size: size})},
		{"fewer bytes than declared", []string{"truncated"}, send(upload{enc: enc[:len(enc)-8], size: size})},
		{"chunks out of order", []string{"out of order"}, send(chunks(func(m []*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest {
			m[0], m[1] = m[1], m[0]
			return m
		}))},
		{"chunk duplicated", []string{"bad_stream"}, send(chunks(func(m []*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest {
			return append([]*confedv1.SubmitUpdateRequest{m[0]}, m...)
		}))},
		{"plaintext chunk instead of a sealed one", []string{"plaintext"}, send(chunks(func(m []*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest {
			return []*confedv1.SubmitUpdateRequest{{Msg: &confedv1.SubmitUpdateRequest_Chunk{Chunk: &confedv1.Chunk{Seq: 0, Data: enc}}}}
		}))},
		{"message over 4 MiB", []string{"ResourceExhausted"}, send(chunks(func(m []*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest {
			return []*confedv1.SubmitUpdateRequest{{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{SealedChunk: &confedv1.SealedChunk{Ciphertext: big}}}}
		}))},
		{"hash does not match the bytes", []string{"hash_mismatch"}, send(edit(func(h *confedv1.UpdateHeader) { h.UpdateSha256 = make([]byte, 32) }))},
		{"trained from another model", []string{"trained from model"}, send(edit(func(h *confedv1.UpdateHeader) { h.BaseModelSha256 = make([]byte, 32) }))},
		{"num_examples 0", []string{"num_examples"}, send(edit(func(h *confedv1.UpdateHeader) { h.NumExamples = 0 }))},
		{"num_examples above 2^40", []string{"num_examples"}, send(edit(func(h *confedv1.UpdateHeader) { h.NumExamples = 1<<40 + 1 }))},
		{"update for another round", []string{"no round"}, send(edit(func(h *confedv1.UpdateHeader) { h.Round += 7 }))},
		{"malformed protobuf as the header", []string{"unmarshal"}, func(ctx context.Context) (string, error) {
			return r.sendRaw(ctx, enc, false, junk)
		}},
		{"malformed protobuf after the header", []string{"unmarshal"}, func(ctx context.Context) (string, error) {
			return r.sendRaw(ctx, enc, true, junk)
		}},
		{"slow sender: header, then nothing", []string{"stream_idle_timeout"}, func(ctx context.Context) (string, error) {
			return r.send(ctx, upload{enc: enc, size: size, chunk: chunk, stall: true,
				chunks: func(m []*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest { return m[:1] }})
		}},
		{"no TEE evidence (the round requires participants to attest)", []string{"attest"}, send(upload{enc: enc, size: size, noIssuer: true})},
		{"evidence from another connection (replayed)", []string{"Unavailable"}, func(ctx context.Context) (string, error) {
			// The first connection gets genuine evidence (its update is
			// refused on its header); the second replays it.
			if _, err := r.send(ctx, upload{enc: enc, size: size, chunk: chunk, issuer: replay,
				header: func(h *confedv1.UpdateHeader) { h.NumExamples = 0 }}); err != nil {
				return "", err
			}
			return r.send(ctx, upload{enc: enc, size: size, chunk: chunk, issuer: replay})
		}},
		{"certificate of a participant not in the round config", []string{"not expected"}, send(upload{enc: enc, size: size, tls: mallory, name: "mallory"})},
		{"operator certificate submitting", []string{"PermissionDenied"}, send(upload{enc: enc, size: size, tls: operator, name: "operator"})},
		{"certificate from another federation's CA", []string{"Unavailable"}, send(upload{enc: enc, size: size, tls: other})},
	}, nil
}

// foreignTLS is a participant's client TLS from another CA.
func foreignTLS() (*tls.Config, error) {
	dir, err := tempDir("foreign")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the configuration holds what it needs
	p, err := NewPKI(dir)
	if err != nil {
		return nil, err
	}
	return p.ClientTLS(pki.RoleParticipant, "rogue", pki.RoleAggregator)
}
