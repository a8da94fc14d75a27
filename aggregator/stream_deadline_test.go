package aggregator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/seal/sealwire"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// stallingStream is an update stream whose sender sends the messages in
// msgs and then stalls: Recv blocks until the handler's context ends.
type stallingStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []*confedv1.SubmitUpdateRequest
}

func (s *stallingStream) Context() context.Context { return s.ctx }

func (s *stallingStream) Recv() (*confedv1.SubmitUpdateRequest, error) {
	if len(s.msgs) > 0 {
		m := s.msgs[0]
		s.msgs = s.msgs[1:]
		return m, nil
	}
	<-s.ctx.Done()
	return nil, io.EOF
}

// RecvMsg decodes the next message into m as the server's codec does.
func (s *stallingStream) RecvMsg(m any) error {
	msg, err := s.Recv()
	if err != nil {
		return err
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	return sealwire.Codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, m)
}

func (s *stallingStream) SendAndClose(*confedv1.SubmitUpdateResponse) error { return nil }

func deadlineServer(idle, whole time.Duration) *Server {
	cfg := Default()
	cfg.StreamIdleTimeout, cfg.StreamTimeout = yamlcfg.Duration(idle), yamlcfg.Duration(whole)
	return &Server{cfg: cfg, log: slog.New(slog.DiscardHandler), federation: "f"}
}

// TestStreamIdleTimeoutHeader: a sender that opens a stream and never sends
// its header is refused after stream_idle_timeout.
func TestStreamIdleTimeoutHeader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := deadlineServer(20*time.Millisecond, time.Hour)
	_, err := s.recvHeader(&stallingStream{ctx: ctx})
	if !errors.Is(err, errStreamIdle) || !strings.Contains(err.Error(), "stream_idle_timeout") {
		t.Fatalf("recvHeader of a silent stream: %v, want a stream_idle_timeout refusal", err)
	}
}

// TestStreamDeadlines: an admitted stream that stalls after its first
// sealed chunk, or trickles for longer than stream_timeout, is refused with
// the key that bounds it, so that its staging buffer is freed.
func TestStreamDeadlines(t *testing.T) {
	tests := []struct {
		name        string
		idle, whole time.Duration
		trickle     bool
		want        string
	}{
		{"stalled after one chunk", 20 * time.Millisecond, time.Hour, false, "no chunk within 20ms (stream_idle_timeout)"},
		{"trickling past the stream timeout", time.Hour, 50 * time.Millisecond, true, "longer than 50ms (stream_timeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := seal.NewRoundKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			sctx := seal.Context{Federation: "f", Round: 1, AggregatorMeasurement: make([]byte, 32), Participant: "p"}
			sealer, err := seal.NewSealer(key.PublicKey(), sctx)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var msgs []*confedv1.SubmitUpdateRequest
			chunks := 1
			if tt.trickle {
				chunks = 1000
			}
			for seq := range chunks {
				ct, err := sealer.Seal(uint64(seq), []byte("x"), false)
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, &confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
					SealedChunk: &confedv1.SealedChunk{Seq: uint64(seq), Ciphertext: ct}}})
			}
			s := deadlineServer(tt.idle, tt.whole)
			s.claims.Measurement = sctx.AggregatorMeasurement
			rs := &roundState{task: &confedv1.AggregationTask{Round: 1}, key: key}
			h := &confedv1.UpdateHeader{Round: 1, Size: 1 << 40, SealedStream: sealer.Header()}
			write := func([]byte) error {
				if tt.trickle {
					time.Sleep(time.Millisecond)
				}
				return nil
			}
			err = s.openStream(rs, "p", h, &stallingStream{ctx: ctx, msgs: msgs}, write)
			if !errors.Is(err, errStreamIdle) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("openStream: %v, want a refusal containing %q", err, tt.want)
			}
		})
	}
}

func TestStreamDeadlineConfig(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"stream_idle_timeout: 0s\n", ":7: stream_idle_timeout: must be > 0, got 0s"},
		{"stream_idle_timeout: 2h\n", ":7: stream_idle_timeout: must be at most 1h, got 2h"},
		{"stream_timeout: 25h\n", ":7: stream_timeout: must be at most 24h, got 25h"},
		{"max_connections: 0\n", ":7: max_connections: must be between 1 and 100000, got 0"},
	}
	for _, tt := range tests {
		path, _ := writeConfigTestFiles(t, configTestYAML+tt.yaml)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an error containing %q", tt.yaml, err, tt.want)
		}
	}
	path, _ := writeConfigTestFiles(t, configTestYAML+"stream_idle_timeout: 10s\nstream_timeout: 5m\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.StreamIdleTimeout.Std() != 10*time.Second || c.StreamTimeout.Std() != 5*time.Minute {
		t.Errorf("loaded %s / %s, want 10s / 5m", c.StreamIdleTimeout, c.StreamTimeout)
	}
}

// TestLimitListener: with max_connections 2, a third connection is accepted
// only once one of the first two closes.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitListener(inner, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(50 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close must not free a second slot
	third := <-accepted
	third.Close()
	second.Close()
}
