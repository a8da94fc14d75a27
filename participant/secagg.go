package participant

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/secagg"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// secAggSession is this participant's side of one round's SecAgg+ session
// (docs/secure-aggregation.md). It opens the stream to the aggregator and
// exchanges keys while the participant trains; submit then sends the masked
// update and answers the consistency and unmask stages. The update itself
// never leaves the participant in clear: only y = x + masks does.
type secAggSession struct {
	round   uint64
	client  *secagg.Client
	conn    *grpc.ClientConn
	stream  confedv1.SecureAggregator_SecAggClient
	cancel  context.CancelFunc
	refused *atomic.Pointer[error]
	// keys delivers the server's masked-input message once the key stages
	// are done, or their error.
	keys chan keysResult
}

type keysResult struct {
	msg []byte
	err error
}

// sessionDeadline is how long a round's work may take: the collection
// deadline, or under secure aggregation the end of the session (the unmask
// stage runs after collection closes).
func sessionDeadline(t *confedv1.Task) time.Time {
	if sd := t.GetSecagg().GetSessionDeadline(); sd != nil && sd.AsTime().After(t.GetDeadline().AsTime()) {
		return sd.AsTime()
	}
	return t.GetDeadline().AsTime()
}

// startSecAgg joins round t's session, or returns nil when the round does
// not mask its update (secure aggregation off, or the statistics round,
// which stays unmasked). It refuses a session whose roster does not verify
// against the federation CA or does not hold this participant.
func (d *daemon) startSecAgg(ctx context.Context, t *confedv1.Task, global *modelio.Downloaded) (*secAggSession, error) {
	if t.GetSecagg() == nil {
		return nil, nil
	}
	if _, ready, err := ModelScaler(global.Model); err != nil || !ready {
		return nil, err // the statistics round is exchanged in float, sealed
	}
	fp := t.GetParams().GetFixedPoint()
	if fp == nil {
		return nil, errors.New("secure aggregation: the round has no fixed-point parameters to mask updates in")
	}
	client, err := d.secAggClient(t, fp, global.Model.Spec().NumParams())
	if err != nil {
		return nil, err
	}
	var refused atomic.Pointer[error]
	conn, err := d.dialAggregator(t, func(err error) { refused.Store(&err) })
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	st, err := confedv1.NewSecureAggregatorClient(conn).SecAgg(sctx)
	if err != nil {
		cancel()
		conn.Close()
		return nil, fmt.Errorf("opening the secure aggregation stream: %w", err)
	}
	sa := &secAggSession{round: t.GetRound(), client: client, conn: conn, stream: st, cancel: cancel,
		refused: &refused, keys: make(chan keysResult, 1)}
	go func() {
		msg, err := sa.exchangeKeys()
		sa.keys <- keysResult{msg, err}
	}()
	return sa, nil
}

// secAggClient builds this participant's secagg.Client for round t.
func (d *daemon) secAggClient(t *confedv1.Task, fp *confedv1.FixedPoint, length int) (*secagg.Client, error) {
	tlsCfg, err := pki.ClientTLS(pki.Files(d.cfg.TLS), "")
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: %w", err)
	}
	cfg, err := secagg.Session{Federation: d.id.Federation, Round: t.GetRound(), Params: t.GetSecagg(),
		FixedPoint: fixedpoint.FromWire(fp.GetBits(), fp.GetClip(), fp.GetScale(), fp.GetMaxWeight(), fp.GetMaxParticipants()),
		Length:     length, Roots: tlsCfg.RootCAs, Now: time.Now()}.Build()
	if err != nil {
		return nil, fmt.Errorf("secure aggregation: refusing the session of round %d: %w", t.GetRound(), err)
	}
	id := cfg.IndexOf(d.id.Name)
	if id < 0 {
		return nil, fmt.Errorf("secure aggregation: %s is not in the roster of round %d (it connected after the round opened)", d.id.Name, t.GetRound())
	}
	signer, ok := tlsCfg.Certificates[0].PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("secure aggregation: this participant's TLS key cannot sign")
	}
	return secagg.NewClient(cfg, id, signer)
}

// exchangeKeys runs the advertise and share-keys stages and returns the
// server's masked-input message (the neighbours' shares).
func (sa *secAggSession) exchangeKeys() ([]byte, error) {
	adv, err := sa.client.Advertise()
	if err != nil {
		return nil, err
	}
	if err := sa.send(adv); err != nil {
		return nil, err
	}
	msg, err := sa.recv()
	if err != nil {
		return nil, err
	}
	shares, err := sa.client.ShareKeys(msg)
	if err != nil {
		return nil, err
	}
	if err := sa.send(shares); err != nil {
		return nil, err
	}
	return sa.recv()
}

func (sa *secAggSession) send(signed []byte) error {
	if err := sa.stream.Send(&confedv1.SecAggClientFrame{Round: sa.round, Msg: &confedv1.SecAggClientFrame_Signed{Signed: signed}}); err != nil {
		return sa.streamErr(err)
	}
	return nil
}

// recv returns the next server message.
func (sa *secAggSession) recv() ([]byte, error) {
	f, err := sa.stream.Recv()
	if err != nil {
		return nil, sa.streamErr(err)
	}
	return f.GetServerMessage(), nil
}

// streamErr is the reason the stream failed: the aggregator's status, or
// the attested handshake's refusal.
func (sa *secAggSession) streamErr(err error) error {
	if errors.Is(err, io.EOF) {
		// Send's EOF: the aggregator ended the stream; Recv has its status.
		if _, rerr := sa.stream.Recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
			err = rerr
		}
	}
	if e := sa.refused.Load(); e != nil {
		return handshakeProblem(*e)
	}
	return fmt.Errorf("secure aggregation: %w", err)
}

// submit masks the update (quantised with its example count, which is
// masked inside the vector too) and streams it in chunks, then signs the
// survivors and reveals its shares. It returns once the aggregator ends the
// session.
func (sa *secAggSession) submit(ctx context.Context, base [32]byte, upd *model.Model, metrics map[string]float64) (*confedv1.SubmitUpdateResponse, error) {
	var keys keysResult
	select {
	case keys = <-sa.keys:
	case <-ctx.Done():
		return nil, fmt.Errorf("secure aggregation: waiting for the key exchange: %w", ctx.Err())
	}
	if keys.err != nil {
		return nil, keys.err
	}
	header, vector, err := sa.client.MaskedInputStream(keys.msg, upd.Flat(), uint64(metrics["num_examples"]), nil)
	if err != nil {
		return nil, err
	}
	inClear := maps.Clone(metrics)
	delete(inClear, "num_examples") // masked in the vector; the aggregator never learns it
	if err := sa.stream.Send(&confedv1.SecAggClientFrame{Round: sa.round, Msg: &confedv1.SecAggClientFrame_Signed{Signed: header},
		BaseModelSha256: base[:], Metrics: inClear}); err != nil {
		return nil, sa.streamErr(err)
	}
	if err := sa.sendVector(vector); err != nil {
		return nil, err
	}
	if err := sa.answer(sa.client.Consistency); err != nil {
		return nil, err
	}
	if err := sa.answer(sa.client.Unmask); err != nil {
		return nil, err
	}
	if err := sa.stream.CloseSend(); err != nil {
		return nil, sa.streamErr(err)
	}
	if _, err := sa.stream.Recv(); !errors.Is(err, io.EOF) {
		return nil, sa.streamErr(err)
	}
	return &confedv1.SubmitUpdateResponse{Accepted: true}, nil
}

// sendVector streams the encoded masked vector in chunks.
func (sa *secAggSession) sendVector(v []byte) error {
	for seq, off := uint64(0), 0; off < len(v); seq++ {
		n := min(stream.DefaultChunkSize, len(v)-off)
		c := &confedv1.SecAggChunk{Seq: seq, Data: v[off : off+n]}
		if err := sa.stream.Send(&confedv1.SecAggClientFrame{Round: sa.round, Msg: &confedv1.SecAggClientFrame_MaskedChunk{MaskedChunk: c}}); err != nil {
			return sa.streamErr(err)
		}
		off += n
	}
	return nil
}

// answer receives the next stage's server message and sends step's reply.
func (sa *secAggSession) answer(step func([]byte) ([]byte, error)) error {
	msg, err := sa.recv()
	if err != nil {
		return err
	}
	out, err := step(msg)
	if err != nil {
		return err
	}
	return sa.send(out)
}

// close ends the stream (a dropout, if the session was not over) and the
// connection.
func (sa *secAggSession) close() {
	if sa == nil {
		return
	}
	sa.cancel()
	sa.conn.Close()
}
