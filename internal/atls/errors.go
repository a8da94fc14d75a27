package atls

import (
	"fmt"

	"github.com/confed/confed/internal/pki"
)

// RefusalError is a handshake that ended with a refusal frame, sent by this
// side (ByPeer false: we refused the peer) or received from the peer (ByPeer
// true: the peer refused us). Reason is the text of the frame, identical on
// both sides, for example
//
//	attestation refused: simulated evidence: measurement 0202… is not in the allowed list
//
// gRPC puts the error text into the status of the RPCs that failed because
// of it ("transport: authentication handshake failed: atls: …").
type RefusalError struct {
	// PeerRole is the protocol role of the other side: "client" or "server".
	PeerRole string
	// Peer is the other side's certificate identity.
	Peer pki.Identity
	// ByPeer is true when the other side sent the refusal.
	ByPeer bool
	// Reason is the refusal frame's text.
	Reason string
}

func (e *RefusalError) Error() string {
	who := e.PeerRole
	if e.Peer != (pki.Identity{}) {
		who += " " + e.Peer.String()
	}
	if e.ByPeer {
		return fmt.Sprintf("atls: refused by %s: %s", who, e.Reason)
	}
	return fmt.Sprintf("atls: refusing %s: %s", who, e.Reason)
}

// Temporary reports false: a refusal is a policy decision that retrying the
// same connection does not change. (gRPC's blocking dial with
// FailOnNonTempDialError returns it at once.)
func (e *RefusalError) Temporary() bool { return false }
