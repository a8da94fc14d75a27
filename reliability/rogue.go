package reliability

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// rogue is an expected participant that drives the submission protocol by
// hand to send hostile input to the real aggregator.
type rogue struct {
	task   *confedv1.Task
	tls    *tls.Config
	issuer tee.Issuer
	name   string
}

// upload is one hand-made submission: plaintext enc declared as size
// bytes, cut into chunk-byte pieces; header and sealed chunks can be
// edited before sending.
type upload struct {
	enc      []byte
	size     uint64
	chunk    int
	header   func(*confedv1.UpdateHeader)
	chunks   func([]*confedv1.SubmitUpdateRequest) []*confedv1.SubmitUpdateRequest
	tls      *tls.Config // nil: the rogue's
	issuer   tee.Issuer  // nil: the rogue's
	name     string      // "" : the rogue's
	noIssuer bool
	// stall: after the messages, wait for the answer without closing the
	// stream (a sender that stops sending but holds the stream open).
	stall bool
}

func (r *rogue) connect(u upload) (*grpc.ClientConn, string, error) {
	tlsCfg, issuer, name := r.tls, r.issuer, r.name
	if u.tls != nil {
		tlsCfg = u.tls
	}
	if u.issuer != nil {
		issuer = u.issuer
	}
	if u.noIssuer {
		issuer = nil
	}
	if u.name != "" {
		name = u.name
	}
	conn, err := submit.Dial{Address: r.task.GetAggregatorAddress(), TLS: tlsCfg, Federation: federation,
		Round: r.task.GetRound(), Verifier: simulatedVerifier(), Issuer: issuer}.Connect()
	return conn, name, err
}

// send submits u and returns the refusal ("" if it was accepted).
func (r *rogue) send(ctx context.Context, u upload) (string, error) {
	conn, name, err := r.connect(u)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(ctx)
	if err != nil {
		return refusal(err), nil
	}
	sealer, err := submit.Sealer(up.Context(), federation, r.task.GetRound(), name)
	if err != nil {
		return refusal(err), nil // no attested connection: refused at the handshake
	}
	sum := sha256.Sum256(u.enc)
	h := &confedv1.UpdateHeader{Round: r.task.GetRound(), NumExamples: 100, BaseModelSha256: r.task.GetGlobalModelSha256(),
		Size: u.size, UpdateSha256: sum[:], SealedStream: sealer.Header()}
	if u.header != nil {
		u.header(h)
	}
	var msgs []*confedv1.SubmitUpdateRequest
	for seq, off := uint64(0), 0; off < len(u.enc); seq, off = seq+1, off+u.chunk {
		end := min(off+u.chunk, len(u.enc))
		ct, err := sealer.Seal(seq, u.enc[off:end], end == len(u.enc))
		if err != nil {
			return "", err
		}
		msgs = append(msgs, &confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
			SealedChunk: &confedv1.SealedChunk{Seq: seq, Ciphertext: ct, Last: end == len(u.enc)}}})
	}
	if u.chunks != nil {
		msgs = u.chunks(msgs)
	}
	msgs = append([]*confedv1.SubmitUpdateRequest{{Msg: &confedv1.SubmitUpdateRequest_Header{Header: h}}}, msgs...)
	for _, m := range msgs {
		if err := up.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				break // answered early: CloseAndRecv says why
			}
			return refusal(err), nil
		}
	}
	var resp *confedv1.SubmitUpdateResponse
	if u.stall {
		resp = new(confedv1.SubmitUpdateResponse)
		err = up.RecvMsg(resp)
	} else {
		resp, err = up.CloseAndRecv()
	}
	if err != nil {
		return refusal(err), nil
	}
	if resp.GetAccepted() {
		return "", nil
	}
	return resp.GetReason(), nil
}

// refusal is a gRPC error as "Code: message".
func refusal(err error) string {
	st := status.Convert(err)
	return fmt.Sprintf("%s: %s", st.Code(), st.Message())
}

// rawCodec sends bytes as they are: malformed protobuf on the wire.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case proto.Message:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}
func (rawCodec) Unmarshal(data []byte, v any) error {
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
}

// sendRaw opens SubmitUpdate and sends the header (if withHeader) and then
// garbage bytes as a message.
func (r *rogue) sendRaw(ctx context.Context, enc []byte, withHeader bool, garbage []byte) (string, error) {
	conn, name, err := r.connect(upload{})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	desc := &grpc.StreamDesc{StreamName: "SubmitUpdate", ClientStreams: true}
	s, err := conn.NewStream(ctx, desc, confedv1.Aggregator_SubmitUpdate_FullMethodName, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return refusal(err), nil
	}
	if withHeader {
		sealer, err := submit.Sealer(s.Context(), federation, r.task.GetRound(), name)
		if err != nil {
			return refusal(err), nil
		}
		sum := sha256.Sum256(enc)
		h := &confedv1.UpdateHeader{Round: r.task.GetRound(), NumExamples: 100, BaseModelSha256: r.task.GetGlobalModelSha256(),
			Size: uint64(len(enc)), UpdateSha256: sum[:], SealedStream: sealer.Header()}
		if err := s.SendMsg(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Header{Header: h}}); err != nil {
			return refusal(err), nil
		}
	}
	if err := s.SendMsg(garbage); err != nil && !errors.Is(err, io.EOF) {
		return refusal(err), nil
	}
	if err := s.CloseSend(); err != nil {
		return refusal(err), nil
	}
	var resp confedv1.SubmitUpdateResponse
	if err := s.RecvMsg(&resp); err != nil {
		return refusal(err), nil
	}
	if resp.GetAccepted() {
		return "", nil
	}
	return resp.GetReason(), nil
}

// replayIssuer issues genuine evidence once, then hands out that same
// evidence for every later connection: evidence from another connection.
type replayIssuer struct {
	inner tee.Issuer
	mu    sync.Mutex
	first *tee.Evidence
}

func (r *replayIssuer) Kind() string { return r.inner.Kind() }

func (r *replayIssuer) Issue(ctx context.Context, rd [64]byte) (tee.Evidence, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first != nil {
		return *r.first, nil
	}
	ev, err := r.inner.Issue(ctx, rd)
	if err == nil {
		r.first = &ev
	}
	return ev, err
}

// lrModel decodes lrUpdate's update as a model.
func lrModel(features int, seed uint64) (*model.Model, error) {
	_, enc, err := lrUpdate(features, seed)
	if err != nil {
		return nil, err
	}
	return model.DecodeSafetensors(enc, model.Limits{})
}
