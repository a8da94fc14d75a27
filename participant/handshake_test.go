package participant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/confed/confed/internal/atls"
)

// TestTransientHandshake: a busy or unreachable aggregator is waited for;
// a refusal or a certificate problem ends the submission at once.
func TestTransientHandshake(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"handshake timed out", fmt.Errorf("atls: TLS handshake with 127.0.0.1:1 timed out after 20s: %w", context.DeadlineExceeded), true},
		{"connection refused", refused, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"closed mid-handshake", fmt.Errorf("tls: %w", io.EOF), true},
		{"aggregator refused us", &atls.RefusalError{PeerRole: "server", ByPeer: true, Reason: "evidence does not meet the policy"}, false},
		{"we refused the aggregator", &atls.RefusalError{PeerRole: "server", Reason: "measurement not allowed"}, false},
		{"certificate problem", errors.New("x509: certificate signed by unknown authority"), false},
	} {
		if got := transientHandshake(tc.err); got != tc.want {
			t.Errorf("%s: transientHandshake = %v, want %v", tc.name, got, tc.want)
		}
	}
}
