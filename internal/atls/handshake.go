package atls

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
)

// Labels. The report-data label separates this use of evidence from every
// other (tee.LabelSigningKey, …); the exporter label separates our keying
// material from any other exporter user of the same TLS session.
const (
	// LabelEvidence is the domain-separation label of the report data.
	LabelEvidence = "confed/v1/atls-evidence"
	// ExporterLabel is the TLS exporter label (RFC 8446, section 7.5).
	ExporterLabel = "EXPORTER-confed-atls-v1"
	// exporterDigestLabel labels the diagnostic digest of the exporter
	// value carried in evidence frames.
	exporterDigestLabel = "confed/v1/atls-exporter-digest"
	exporterLen         = 32
)

// drainTime bounds how long a side that refused keeps reading (and
// discarding) what the peer still sends, so that closing does not reset the
// connection before the peer has read the refusal frame.
const (
	drainTime     = 250 * time.Millisecond
	maxDrainBytes = 2 * maxEvidencePayload
)

// reportData is the report data that a sender with protocol role role puts
// into its evidence:
//
//	tee.ReportData(LabelEvidence, role, [ProtocolVersion], exporter,
//	               SHA-256(sender's certificate SubjectPublicKeyInfo), binding,
//	               federation, uint64be(round))
func reportData(role string, exporter []byte, spki [32]byte, binding []byte, c Context) [64]byte {
	var round [8]byte
	binary.BigEndian.PutUint64(round[:], c.Round)
	return tee.ReportData(LabelEvidence,
		[]byte(role), []byte{ProtocolVersion}, exporter, spki[:], binding,
		[]byte(c.Federation), round[:])
}

func exporterDigest(exporter []byte) [digestLen]byte {
	rd := tee.ReportData(exporterDigestLabel, exporter)
	var d [digestLen]byte
	copy(d[:], rd[:digestLen])
	return d
}

// session is one side of one attestation exchange.
type session struct {
	c        *Credentials
	conn     net.Conn
	peer     pki.Identity
	peerSPKI [32]byte
	exporter []byte
	deadline time.Time
}

// verified is what this side established about the peer.
type verified struct {
	claims  tee.Claims
	ev      tee.Evidence
	binding []byte
}

// exchange runs the attestation exchange over the TLS connection conn and
// closes conn on failure.
func (c *Credentials) exchange(ctx context.Context, conn net.Conn, ai credentials.AuthInfo) (AuthInfo, error) {
	info, ok := ai.(credentials.TLSInfo)
	if !ok {
		conn.Close()
		return AuthInfo{}, fmt.Errorf("atls: internal error: TLS handshake returned %T", ai)
	}
	s, err := c.newSession(conn, info.State)
	if err != nil {
		conn.Close()
		return AuthInfo{}, err
	}
	s.deadline, _ = ctx.Deadline()
	if err := conn.SetDeadline(s.deadline); err != nil {
		conn.Close()
		return AuthInfo{}, fmt.Errorf("atls: %w", err)
	}
	// A cancelled context (not only an expired one) interrupts blocked I/O.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	var v *verified
	if c.role == roleClient {
		v, err = s.runClient(ctx)
	} else {
		v, err = s.runServer(ctx)
	}
	if !stop() && err == nil {
		err = s.timeout(ctx, "finishing the handshake", ctx.Err())
	}
	if err != nil {
		conn.Close()
		return AuthInfo{}, err
	}
	out := AuthInfo{TLSInfo: info, PeerIdentity: s.peer, Context: c.cfg.Context}
	if v != nil {
		out.PeerClaims = &v.claims
		out.Evidence = v.ev
		out.PeerBinding = v.binding
	}
	return out, nil
}

func (c *Credentials) newSession(conn net.Conn, st tls.ConnectionState) (*session, error) {
	if st.Version != tls.VersionTLS13 {
		return nil, fmt.Errorf("atls: negotiated TLS version %#x, want TLS 1.3", st.Version)
	}
	if len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
		return nil, fmt.Errorf("atls: %s presented no verified certificate", c.peerRole)
	}
	peer, err := pki.IdentityFromCert(st.PeerCertificates[0])
	if err != nil {
		return nil, fmt.Errorf("atls: %s certificate: %w", c.peerRole, err)
	}
	exporter, err := st.ExportKeyingMaterial(ExporterLabel, nil, exporterLen)
	if err != nil {
		return nil, fmt.Errorf("atls: TLS exporter: %w", err)
	}
	return &session{
		c:        c,
		conn:     conn,
		peer:     peer,
		peerSPKI: sha256.Sum256(st.PeerCertificates[0].RawSubjectPublicKeyInfo),
		exporter: exporter,
	}, nil
}

// runClient: read the server's evidence (or ok), check it, then answer with
// our evidence if asked (and wait for the server's verdict) or with ok.
func (s *session) runClient(ctx context.Context) (*verified, error) {
	cfg := &s.c.cfg
	t, p, err := s.read(ctx, "the server's attestation frame")
	if err != nil {
		return nil, err
	}
	var (
		v     *verified
		flags byte
	)
	switch t {
	case frameRefusal:
		return nil, s.peerRefused(p)
	case frameEvidence:
		m, err := parseEvidence(p)
		if err != nil {
			return nil, s.refuseProtocol(err)
		}
		flags = m.Flags
		if cfg.Verifier != nil {
			if v, err = s.verify(ctx, m); err != nil {
				return nil, err
			}
		}
	case frameOK:
		if flags, err = parseOK(p); err != nil {
			return nil, s.refuseProtocol(err)
		}
		if cfg.Required {
			return nil, s.refuse("attestation refused: the server presented no attestation evidence and this client requires it")
		}
	}
	if flags&flagWantEvidence == 0 {
		return v, s.write(ctx, frameOK, okPayload(0), "our acceptance")
	}
	if err := s.sendOwn(ctx, 0); err != nil {
		return nil, err
	}
	t, p, err = s.read(ctx, "the server's verdict on our evidence")
	if err != nil {
		return nil, err
	}
	switch t {
	case frameRefusal:
		return nil, s.peerRefused(p)
	case frameOK:
		if f, err := parseOK(p); err != nil || f != 0 {
			return nil, s.refuseProtocol(orFlags(err, f))
		}
		return v, nil
	}
	return nil, s.refuseProtocol(protoErrorf("unexpected %s frame; want the server's verdict", t))
}

// runServer: send our evidence (or ok) with the request for the client's
// evidence if we verify clients, then read the client's answer and, if we
// asked, answer with our verdict.
func (s *session) runServer(ctx context.Context) (*verified, error) {
	cfg := &s.c.cfg
	want := cfg.Verifier != nil
	var flags byte
	if want {
		flags = flagWantEvidence
	}
	if err := s.sendOwn(ctx, flags); err != nil {
		return nil, err
	}
	t, p, err := s.read(ctx, "the client's answer")
	if err != nil {
		return nil, err
	}
	var v *verified
	switch t {
	case frameRefusal:
		return nil, s.peerRefused(p)
	case frameOK:
		if f, err := parseOK(p); err != nil || f != 0 {
			return nil, s.refuseProtocol(orFlags(err, f))
		}
		if !want {
			return nil, nil
		}
		if cfg.Required {
			return nil, s.refuse("attestation refused: the client presented no attestation evidence and this server requires clients to attest")
		}
	case frameEvidence:
		if !want {
			return nil, s.refuseProtocol(protoErrorf("unexpected evidence frame: this server did not ask for evidence"))
		}
		m, err := parseEvidence(p)
		if err == nil && m.Flags != 0 {
			err = protoErrorf("evidence frame: a client sets no flags (got %#x)", m.Flags)
		}
		if err != nil {
			return nil, s.refuseProtocol(err)
		}
		if v, err = s.verify(ctx, m); err != nil {
			return nil, err
		}
	}
	return v, s.write(ctx, frameOK, okPayload(0), "our verdict")
}

func orFlags(err error, flags byte) error {
	if err != nil {
		return err
	}
	return protoErrorf("ok frame: unexpected flags %#x", flags)
}

// sendOwn sends our evidence with flags, or an ok frame with flags if we
// have no Issuer.
func (s *session) sendOwn(ctx context.Context, flags byte) error {
	cfg := &s.c.cfg
	if cfg.Issuer == nil {
		return s.write(ctx, frameOK, okPayload(flags), "our ok frame")
	}
	binding := cfg.Binding
	if cfg.BindingFunc != nil {
		binding = cfg.BindingFunc()
	}
	if len(binding) > MaxBindingSize {
		reason := fmt.Sprintf("attestation unavailable: the %s's binding of %d bytes exceeds %d", s.c.role, len(binding), MaxBindingSize)
		s.sendRefusal(reason)
		return fmt.Errorf("atls: cannot attest to %s %s: binding too large", s.c.peerRole, s.peer)
	}
	rd := reportData(s.c.role, s.exporter, s.c.localSPKI, binding, cfg.Context)
	ev, err := cfg.Issuer.Issue(ctx, rd)
	if err != nil {
		if ctx.Err() != nil {
			return s.timeout(ctx, "issuing our evidence", err)
		}
		reason := fmt.Sprintf("attestation unavailable: the %s could not produce evidence: %v", s.c.role, err)
		s.sendRefusal(reason)
		return fmt.Errorf("atls: cannot attest to %s %s: %w", s.c.peerRole, s.peer, err)
	}
	m := evidenceMsg{
		Flags:          flags,
		Kind:           ev.Kind,
		Federation:     cfg.Context.Federation,
		Round:          cfg.Context.Round,
		ExporterDigest: exporterDigest(s.exporter),
		Binding:        binding,
		Raw:            ev.Raw,
	}
	p, err := m.marshal()
	if err != nil {
		reason := fmt.Sprintf("attestation unavailable: the %s's evidence cannot be sent: %v", s.c.role, err)
		s.sendRefusal(reason)
		return fmt.Errorf("atls: cannot attest to %s %s: %w", s.c.peerRole, s.peer, err)
	}
	return s.write(ctx, frameEvidence, p, "our evidence")
}

// verify checks the peer's evidence against this connection. Failures
// refuse the peer.
func (s *session) verify(ctx context.Context, m evidenceMsg) (*verified, error) {
	cfg := &s.c.cfg
	// Diagnostics first, from fields the peer sent: they name the problem
	// precisely. The verifier's report-data check below is what enforces
	// the binding; these only refuse earlier.
	if m.Federation != cfg.Context.Federation || m.Round != cfg.Context.Round {
		return nil, s.refuse(fmt.Sprintf(
			"attestation refused: the %s's evidence is for federation %s round %d; this connection is for federation %s round %d",
			s.c.peerRole, m.Federation, m.Round, cfg.Context.Federation, cfg.Context.Round))
	}
	if m.ExporterDigest != exporterDigest(s.exporter) {
		return nil, s.refuse(fmt.Sprintf(
			"attestation refused: the %s's evidence does not bind this connection (it was produced for another TLS connection: relayed or replayed)",
			s.c.peerRole))
	}
	rd := reportData(s.c.peerRole, s.exporter, s.peerSPKI, m.Binding, cfg.Context)
	ev := tee.Evidence{Kind: m.Kind, Raw: m.Raw}
	claims, err := cfg.Verifier.Verify(ctx, ev, rd)
	if err == nil && claims.ReportData != rd {
		err = errors.New("verifier returned claims for other report data")
	}
	if err == nil && cfg.CheckPeer != nil {
		err = cfg.CheckPeer(ctx, s.peer, cloneClaims(&claims), slices.Clone(m.Binding))
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, s.timeout(ctx, "verifying the "+s.c.peerRole+"'s evidence", err)
		}
		return nil, s.refuse("attestation refused: " + err.Error())
	}
	return &verified{claims: claims, ev: ev, binding: m.Binding}, nil
}

func (s *session) read(ctx context.Context, what string) (frameType, []byte, error) {
	t, p, err := readFrame(s.conn)
	if err == nil {
		return t, p, nil
	}
	var pe *protocolError
	if errors.As(err, &pe) {
		return 0, nil, s.refuseProtocol(err)
	}
	return 0, nil, s.ioError(ctx, "waiting for "+what, err)
}

func (s *session) write(ctx context.Context, t frameType, p []byte, what string) error {
	if err := writeFrame(s.conn, t, p); err != nil {
		return s.ioError(ctx, "sending "+what, err)
	}
	return nil
}

func (s *session) ioError(ctx context.Context, doing string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
		return s.timeout(ctx, doing, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("atls: %s %s closed the connection while we were %s (does it run confed attested TLS, protocol version %d?): %w",
			s.c.peerRole, s.peer, doing, ProtocolVersion, err)
	}
	return fmt.Errorf("atls: %s %s: %s: %w", s.c.peerRole, s.peer, doing, err)
}

// timeout reports a handshake that ran out of time (or was cancelled).
func (s *session) timeout(ctx context.Context, doing string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("atls: handshake with %s %s cancelled while %s: %w", s.c.peerRole, s.peer, doing, context.Canceled)
	}
	return fmt.Errorf("atls: handshake with %s %s timed out (limit %s) while %s: %w: %w",
		s.c.peerRole, s.peer, s.c.timeout, doing, context.DeadlineExceeded, err)
}

// refuse sends a refusal frame naming reason, gives the peer a moment to
// read it, and returns the local error with the same reason.
func (s *session) refuse(reason string) error {
	reason = sanitizeReason(reason)
	s.sendRefusal(reason)
	return &RefusalError{PeerRole: s.c.peerRole, Peer: s.peer, Reason: reason}
}

func (s *session) refuseProtocol(err error) error {
	return s.refuse("protocol error: " + err.Error())
}

func (s *session) sendRefusal(reason string) {
	if err := writeFrame(s.conn, frameRefusal, refusalPayload(reason)); err != nil {
		return
	}
	// Read what the peer still sends (an oversized frame, its gRPC
	// preface) until it closes, so that our close does not turn into a
	// reset that discards the refusal before the peer reads it.
	d := time.Now().Add(drainTime)
	if !s.deadline.IsZero() && s.deadline.Before(d) {
		d = s.deadline
	}
	if s.conn.SetReadDeadline(d) == nil {
		_, _ = io.CopyN(io.Discard, s.conn, maxDrainBytes)
	}
}

func (s *session) peerRefused(p []byte) error {
	reason, err := parseRefusal(p)
	if err != nil {
		reason = "(malformed refusal frame: " + err.Error() + ")"
	}
	return &RefusalError{PeerRole: s.c.peerRole, Peer: s.peer, ByPeer: true, Reason: reason}
}
