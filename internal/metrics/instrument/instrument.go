// Package instrument connects confed's daemons to package metrics: gRPC
// interceptors that count message bytes by method, a tee.Verifier wrapper
// that counts attestation verifications by result and TEE kind, and the
// mapping of free-text reasons onto bounded label values.
package instrument

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/tee"
)

// Other is the label value for anything outside a label's known set.
const Other = "other"

// Code returns the reason code that msg starts with ("code: detail" or
// just "code"), if it is one of known, and Other otherwise. Errors in
// confed carry their machine-readable code as such a prefix, and messages
// from peers are free text, so only known codes may become label values.
func Code(msg string, known []string) string {
	for _, k := range known {
		if msg == k || strings.HasPrefix(msg, k+": ") || strings.HasPrefix(msg, k+":") {
			return k
		}
	}
	return Other
}

// OneOf returns v if it is one of known, and Other otherwise.
func OneOf(v string, known ...string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return Other
}

// TEEKinds are the label values of TEE kinds; evidence of any other kind
// (the peer chooses it) counts as "other".
var TEEKinds = []string{tee.KindSEVSNP, tee.KindTDX, tee.KindSGX, tee.KindNitro, tee.KindMAA, tee.KindCCA,
	tee.KindNVGPU, tee.KindSimulated}

// Bytes counts the protobuf bytes of gRPC messages, by full method name.
// The methods are those a daemon serves (only registered ones reach an
// interceptor) or calls, so the label is bounded.
type Bytes struct {
	Received *metrics.CounterVec
	Sent     *metrics.CounterVec
}

// NewBytes registers <prefix>_grpc_received_bytes_total and
// <prefix>_grpc_sent_bytes_total.
func NewBytes(reg *metrics.Registry, prefix string) *Bytes {
	return &Bytes{
		Received: reg.Counter(prefix+"_grpc_received_bytes_total",
			"Protobuf bytes of gRPC messages received, by method (served or called).", "method"),
		Sent: reg.Counter(prefix+"_grpc_sent_bytes_total",
			"Protobuf bytes of gRPC messages sent, by method (served or called).", "method"),
	}
}

func (b *Bytes) count(v *metrics.CounterVec, method string, m any) {
	if pm, ok := m.(proto.Message); ok {
		v.With(method).Add(uint64(proto.Size(pm)))
	}
}

// ServerOptions are the interceptors to pass to grpc.NewServer.
func (b *Bytes) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			b.count(b.Received, info.FullMethod, req)
			resp, err := h(ctx, req)
			if err == nil {
				b.count(b.Sent, info.FullMethod, resp)
			}
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, &serverStream{ServerStream: ss, b: b, method: info.FullMethod})
		}),
	}
}

type serverStream struct {
	grpc.ServerStream
	b      *Bytes
	method string
}

func (s *serverStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.b.count(s.b.Sent, s.method, m)
	}
	return err
}

func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.b.count(s.b.Received, s.method, m)
	}
	return err
}

// DialOptions are the interceptors to pass to grpc.NewClient.
func (b *Bytes) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			err := inv(ctx, method, req, reply, cc, opts...)
			if err == nil {
				b.count(b.Sent, method, req)
				b.count(b.Received, method, reply)
			}
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, st grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			cs, err := st(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return &clientStream{ClientStream: cs, b: b, method: method}, nil
		}),
	}
}

type clientStream struct {
	grpc.ClientStream
	b      *Bytes
	method string
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		s.b.count(s.b.Sent, s.method, m)
	}
	return err
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.b.count(s.b.Received, s.method, m)
	}
	return err
}

// Verifications counts attestation verifications.
type Verifications struct{ v *metrics.CounterVec }

// NewVerifications registers <prefix>_attestation_verifications_total with
// the labels peer (whose evidence: aggregator or participant), tee (the
// evidence's kind, or other) and result (ok or refused).
func NewVerifications(reg *metrics.Registry, prefix string) *Verifications {
	return &Verifications{reg.Counter(prefix+"_attestation_verifications_total",
		"Attestation evidence verifications, by peer role, TEE kind of the evidence and result (ok, refused).",
		"peer", "tee", "result")}
}

// Wrap returns a verifier that counts each verification by inner as being
// of peer's evidence. A nil v (metrics off) or nil inner returns inner.
func (v *Verifications) Wrap(inner tee.Verifier, peer string) tee.Verifier {
	if v == nil || inner == nil {
		return inner
	}
	return countingVerifier{inner: inner, v: v, peer: peer}
}

// Observe counts one verification of evidence of kind.
func (v *Verifications) Observe(peer, kind string, err error) {
	if v == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "refused"
	}
	v.v.With(peer, OneOf(kind, TEEKinds...), result).Inc()
}

type countingVerifier struct {
	inner tee.Verifier
	v     *Verifications
	peer  string
}

// Verify implements tee.Verifier.
func (c countingVerifier) Verify(ctx context.Context, ev tee.Evidence, reportData [64]byte) (tee.Claims, error) {
	claims, err := c.inner.Verify(ctx, ev, reportData)
	c.v.Observe(c.peer, ev.Kind, err)
	return claims, err
}

// UpdateReasons are the codes with which the aggregator refuses an update
// (aggregator/fedavg's Reason values, the fixed-point range check, and the
// checks of the stream's header and of its sender); a test in the
// aggregator keeps them in step with fedavg.
var UpdateReasons = []string{
	"wrong_shape", "non_finite", "too_large", "truncated", "norm_exceeded", "hash_mismatch",
	"size_mismatch", "bad_weight", "bad_stream", "out_of_range",
	"not_member", "not_attested", "round_not_open", "base_model_mismatch",
	"not_admitted", "coordinator_unavailable", "not_included", "fold_failed",
}
