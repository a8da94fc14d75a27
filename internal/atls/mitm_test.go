package atls

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/tee"
)

func serverSPKI(t *testing.T, p *testPKI) [32]byte {
	t.Helper()
	c, err := pki.ReadCertificate(p.server.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(c.RawSubjectPublicKeyInfo)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// recordServerEvidence connects to the real attested server as a plain TLS
// client (the attacker's own participant certificate), records the
// server's evidence frame byte for byte and answers like an honest client.
func recordServerEvidence(t *testing.T, p *testPKI, addr string) []byte {
	t.Helper()
	c := dialTLS(t, addr, p.attacker)
	typ, payload, err := readFrame(c)
	if err != nil || typ != frameEvidence {
		t.Fatalf("recording: %v frame, %v", typ, err)
	}
	if _, err := c.Write(frameBytes(t, frameOK, okPayload(0))); err != nil {
		t.Fatal(err)
	}
	return frameBytes(t, typ, payload)
}

// attestedServer starts the genuine aggregator: simulated TEE with the
// allowed measurement.
func attestedServer(t *testing.T, p *testPKI) (*testServer, Config) {
	t.Helper()
	cfg := serverConfig(t, p, newEvents())
	cfg.Issuer = simIssuer(t, goodM)
	cfg.Binding = []byte("genuine keys")
	return startServer(t, cfg), cfg
}

func verifyingClient(t *testing.T, p *testPKI, ev *events) Config {
	t.Helper()
	cfg := clientConfig(t, p, ev)
	cfg.Verifier = simVerifier(goodM)
	cfg.Required = true
	return cfg
}

// TestReplayedEvidenceRefused: evidence recorded from an earlier connection
// to the genuine server and replayed by a man in the middle that holds the
// genuine server's own certificate and key (so the certificate key matches
// and only the TLS exporter differs) is refused.
func TestReplayedEvidenceRefused(t *testing.T) {
	p := newPKI(t)
	genuine, _ := attestedServer(t, p)
	recorded := recordServerEvidence(t, p, genuine.addr)

	const reason = "attestation refused: the server's evidence does not bind this connection (it was produced for another TLS connection: relayed or replayed)"
	mitm := startFakeServer(t, p.server, func(c *tls.Conn) error {
		if _, err := c.Write(recorded); err != nil {
			return err
		}
		got, err := readRefusal(c)
		if err != nil {
			return fmt.Errorf("reading the victim's answer: %w", err)
		}
		if got != reason {
			return fmt.Errorf("victim's refusal %q, want %q", got, reason)
		}
		return nil
	})
	cev := newEvents()
	_, err := call(t, mitm.addr, verifyingClient(t, p, cev))
	if err == nil {
		t.Fatal("the victim accepted replayed evidence")
	}
	wantContains(t, "RPC error", rpcDesc(err), "does not bind this connection")
	if re := refusalOf(t, cev.next(t).Err); re.ByPeer || re.Reason != reason {
		t.Errorf("victim's error %v", re)
	}
	if err := mitm.wait(t); err != nil {
		t.Fatal(err)
	}
}

// TestRelayedEvidenceWithForgedDigestRefused: a man in the middle that
// relays the genuine server's evidence and rewrites the diagnostic exporter
// digest to match its connection to the victim gets past the early check,
// and the verifier's report-data check refuses it. The diagnostic fields are
// not what enforces the binding.
func TestRelayedEvidenceWithForgedDigestRefused(t *testing.T) {
	p := newPKI(t)
	genuine, _ := attestedServer(t, p)
	upstream := dialTLS(t, genuine.addr, p.attacker)
	typ, payload, err := readFrame(upstream)
	if err != nil || typ != frameEvidence {
		t.Fatalf("relay: %v frame, %v", typ, err)
	}
	m, err := parseEvidence(payload)
	if err != nil {
		t.Fatal(err)
	}

	mitm := startFakeServer(t, p.server, func(c *tls.Conn) error {
		m.ExporterDigest = exporterDigest(exporterOf(t, c))
		forged, err := m.marshal()
		if err != nil {
			return err
		}
		if _, err := c.Write(frameBytes(t, frameEvidence, forged)); err != nil {
			return err
		}
		got, err := readRefusal(c)
		if err != nil {
			return err
		}
		if !strings.Contains(got, "report data does not bind") {
			return fmt.Errorf("victim's refusal %q, want the verifier's report-data check", got)
		}
		return nil
	})
	_, err = call(t, mitm.addr, verifyingClient(t, p, newEvents()))
	if err == nil {
		t.Fatal("the victim accepted relayed evidence")
	}
	wantContains(t, "RPC error", rpcDesc(err), "simulated evidence: report data does not bind")
	if err := mitm.wait(t); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedFramesFromServer: a server (holding a valid certificate) that
// sends altered or malformed frames is refused with a reason naming the
// defect, which it receives in a refusal frame.
func TestTamperedFramesFromServer(t *testing.T) {
	p := newPKI(t)
	// genuineFrame builds the evidence frame a genuine server would send on
	// connection c, after mutate.
	genuineFrame := func(t *testing.T, c *tls.Conn, mutate func(*evidenceMsg)) []byte {
		rd := reportData(roleServer, exporterOf(t, c), serverSPKI(t, p), []byte("keys"), Context{Federation: testFed, Round: 3})
		ev, err := simIssuer(t, goodM).Issue(t.Context(), rd)
		if err != nil {
			t.Fatal(err)
		}
		m := evidenceMsg{Kind: ev.Kind, Federation: testFed, Round: 3, ExporterDigest: exporterDigest(exporterOf(t, c)), Binding: []byte("keys"), Raw: ev.Raw}
		if mutate != nil {
			mutate(&m)
		}
		b, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		return frameBytes(t, frameEvidence, b)
	}
	header := func(version byte, typ frameType, n uint32) []byte {
		h := []byte{version, byte(typ), 0, 0, 0, 0}
		binary.BigEndian.PutUint32(h[2:], n)
		return h
	}
	tests := []struct {
		name  string
		frame func(*testing.T, *tls.Conn) []byte
		want  string
	}{
		{"untouched (control)", func(t *testing.T, c *tls.Conn) []byte { return genuineFrame(t, c, nil) }, ""},
		{"evidence altered", func(t *testing.T, c *tls.Conn) []byte {
			return genuineFrame(t, c, func(m *evidenceMsg) {
				m.Raw = bytes.Replace(m.Raw, []byte(fmt.Sprintf("%x", goodM)), []byte(fmt.Sprintf("%x", badM)), 1)
			})
		}, fmt.Sprintf("attestation refused: simulated evidence: measurement %x is not in the allowed list", badM)},
		{"binding altered", func(t *testing.T, c *tls.Conn) []byte {
			return genuineFrame(t, c, func(m *evidenceMsg) { m.Binding = []byte("attacker keys") })
		}, "attestation refused: simulated evidence: report data does not bind"},
		{"kind altered", func(t *testing.T, c *tls.Conn) []byte {
			return genuineFrame(t, c, func(m *evidenceMsg) { m.Kind = tee.KindSEVSNP })
		}, `attestation refused: evidence kind "sev-snp": this verifier accepts only`},
		{"trailing bytes", func(t *testing.T, c *tls.Conn) []byte {
			f := genuineFrame(t, c, nil)
			f = append(f, 0)
			binary.BigEndian.PutUint32(f[2:6], binary.BigEndian.Uint32(f[2:6])+1)
			return f
		}, "protocol error: evidence frame: 1 trailing bytes"},
		{"truncated field", func(*testing.T, *tls.Conn) []byte {
			return append(header(ProtocolVersion, frameEvidence, 3), 0, 200, 'x')
		}, "protocol error: evidence frame: truncated kind"},
		{"oversized frame", func(*testing.T, *tls.Conn) []byte {
			return header(ProtocolVersion, frameEvidence, 16<<20)
		}, fmt.Sprintf("protocol error: evidence frame of %d bytes exceeds the limit of %d bytes", 16<<20, maxEvidencePayload)},
		{"oversized evidence field", func(*testing.T, *tls.Conn) []byte {
			b := []byte{0, 3, 's', 'e', 'v', 5, 'h', 'e', 'a', 'r', 't'}
			b = append(b, make([]byte, 8+digestLen+4)...)
			b = binary.BigEndian.AppendUint32(b, MaxEvidenceSize+1)
			return append(header(ProtocolVersion, frameEvidence, uint32(len(b))), b...)
		}, "protocol error: evidence frame: evidence of 1048577 bytes exceeds the limit of 1048576 bytes"},
		{"other protocol version", func(*testing.T, *tls.Conn) []byte {
			return header(9, frameOK, 1)
		}, "protocol error: unsupported atls protocol version 9 (this side speaks version 1)"},
		{"unknown frame type", func(*testing.T, *tls.Conn) []byte {
			return header(ProtocolVersion, 7, 0)
		}, "protocol error: unknown frame type 7"},
		{"unknown flags", func(*testing.T, *tls.Conn) []byte {
			return append(header(ProtocolVersion, frameOK, 1), 0x80)
		}, "protocol error: ok frame: unknown flags 0x80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFakeServer(t, p.server, func(c *tls.Conn) error {
				if _, err := c.Write(tt.frame(t, c)); err != nil {
					return err
				}
				if tt.want == "" {
					typ, _, err := readFrame(c)
					if err != nil || typ != frameOK {
						return fmt.Errorf("control: %v frame, %v", typ, err)
					}
					return nil
				}
				got, err := readRefusal(c)
				if err != nil {
					return fmt.Errorf("reading the refusal: %w", err)
				}
				if !strings.Contains(got, tt.want) {
					return fmt.Errorf("refusal %q, want it to contain %q", got, tt.want)
				}
				return nil
			})
			cev := newEvents()
			_, err := call(t, fake.addr, verifyingClient(t, p, cev))
			ev := cev.next(t)
			if tt.want == "" {
				if ev.Err != nil {
					t.Fatalf("control handshake failed: %v", ev.Err)
				}
			} else {
				if err == nil {
					t.Fatal("RPC succeeded")
				}
				wantContains(t, "RPC error", rpcDesc(err), tt.want)
				wantContains(t, "client's error", refusalOf(t, ev.Err).Reason, tt.want)
			}
			if err := fake.wait(t); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTamperedFramesFromClient: a federation member that sends malformed
// frames to an attested server is refused with a reason it receives.
func TestTamperedFramesFromClient(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name string
		send []byte
		want string
	}{
		{"oversized evidence frame", func() []byte {
			h := []byte{ProtocolVersion, byte(frameEvidence), 0, 0, 0, 0}
			binary.BigEndian.PutUint32(h[2:], 1<<30)
			return append(h, make([]byte, 4096)...) // and more would follow
		}(), "protocol error: evidence frame of 1073741824 bytes exceeds the limit"},
		{"oversized refusal", func() []byte {
			h := []byte{ProtocolVersion, byte(frameRefusal), 0, 0, 0, 0}
			binary.BigEndian.PutUint32(h[2:], MaxReasonSize+1)
			return h
		}(), "protocol error: refusal frame of 1025 bytes exceeds the limit of 1024 bytes"},
		{"garbage", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "protocol error: unsupported atls protocol version 80"},
		{"client sets flags", append([]byte{ProtocolVersion, byte(frameOK), 0, 0, 0, 1}, flagWantEvidence), "protocol error: ok frame: unexpected flags 0x1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev := newEvents()
			scfg := serverConfig(t, p, sev)
			scfg.Issuer = simIssuer(t, goodM)
			scfg.Verifier = simVerifier(goodM)
			srv := startServer(t, scfg)

			c := dialTLS(t, srv.addr, p.client)
			if typ, _, err := readFrame(c); err != nil || typ != frameEvidence {
				t.Fatalf("server's first frame: %v, %v", typ, err)
			}
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			got, err := readRefusal(c)
			if err != nil {
				t.Fatalf("reading the server's refusal: %v", err)
			}
			wantContains(t, "refusal", got, tt.want)
			if re := refusalOf(t, sev.next(t).Err); re.ByPeer || re.Reason != got {
				t.Errorf("server's error %v, want its refusal %q", re, got)
			}
			if srv.calls() != 0 {
				t.Error("handler ran")
			}
		})
	}
}

// TestStalledServerTimesOut: a server that completes TLS and then sends
// nothing, or half a frame, cannot hold the client beyond its handshake
// timeout.
func TestStalledServerTimesOut(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name  string
		send  []byte
		doing string
	}{
		{"silent after TLS", nil, "waiting for the server's attestation frame"},
		{"half a frame", []byte{ProtocolVersion, byte(frameEvidence), 0, 0, 1, 0, 7, 7}, "waiting for the server's attestation frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			fake := startFakeServer(t, p.server, func(c *tls.Conn) error {
				if _, err := c.Write(tt.send); err != nil {
					return err
				}
				<-release // stall; the client must give up on its own
				return nil
			})
			cfg := verifyingClient(t, p, newEvents())
			cfg.HandshakeTimeout = time.Second
			start := time.Now()
			_, err := call(t, fake.addr, cfg)
			elapsed := time.Since(start)
			close(release)
			if err == nil {
				t.Fatal("RPC succeeded")
			}
			msg := rpcDesc(err)
			wantContains(t, "RPC error", msg, "timed out (limit 1s) while "+tt.doing)
			if elapsed > 5*time.Second {
				t.Errorf("the client waited %s", elapsed)
			}
			_ = fake.wait(t)
		})
	}
}

// TestStalledClientTimesOut: a client that stalls before TLS, after the
// server's evidence, or in the middle of its own evidence frame is cut off
// at the server's handshake timeout.
func TestStalledClientTimesOut(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name string
		// stall connects and stops at some point of the handshake.
		stall func(t *testing.T, addr string) net.Conn
		want  string
	}{
		{"silent TCP", func(t *testing.T, addr string) net.Conn {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, "TLS handshake with"},
		{"silent after the server's evidence", func(t *testing.T, addr string) net.Conn {
			c := dialTLS(t, addr, p.client)
			if _, _, err := readFrame(c); err != nil {
				t.Fatal(err)
			}
			return c
		}, "timed out (limit 1s) while waiting for the client's answer"},
		{"half an evidence frame", func(t *testing.T, addr string) net.Conn {
			c := dialTLS(t, addr, p.client)
			if _, _, err := readFrame(c); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte{ProtocolVersion, byte(frameEvidence), 0, 0, 4, 0, 1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			return c
		}, "timed out (limit 1s) while waiting for the client's answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sev := newEvents()
			scfg := serverConfig(t, p, sev)
			scfg.Issuer = simIssuer(t, goodM)
			scfg.Verifier = simVerifier(goodM)
			scfg.HandshakeTimeout = time.Second
			srv := startServer(t, scfg)

			start := time.Now()
			c := tt.stall(t, srv.addr)
			defer c.Close()
			ev := sev.next(t)
			if ev.Err == nil {
				t.Fatal("handshake succeeded")
			}
			wantContains(t, "server's error", ev.Err.Error(), tt.want)
			if !isTimeout(ev.Err) {
				t.Errorf("server's error %v is not a timeout", ev.Err)
			}
			// The server closed the connection: the stalled client reads EOF
			// (or a TLS alert), not a hang.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); isTimeout(err) {
				t.Error("the server kept the connection open")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}
