package participant

import (
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/atls"
	"github.com/confed/confed/internal/pki"
	"github.com/confed/confed/internal/submit"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// dialAggregator connects to the round's aggregator over the attested
// transport: no byte of the update is sent unless the aggregator's evidence
// verifies against this participant's policy, binds this very connection,
// and carries a round key for this round. The refusal, if the handshake
// fails, is stored in refused so that the participant can tell the
// coordinator why. onHandshakeErr sees every failed handshake.
func (d *daemon) dialAggregator(t *confedv1.Task, onHandshakeErr func(error)) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(t.GetAggregatorAddress())
	if err != nil {
		return nil, fmt.Errorf("aggregator address %q: %w", t.GetAggregatorAddress(), err)
	}
	tlsCfg, err := pki.ClientTLSFor(pki.Files(d.cfg.TLS), host, pki.RoleAggregator)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	var issuer tee.Issuer
	if t.GetAttest() {
		if d.issuer == nil {
			return nil, errors.New("the federation requires participants to attest, but this participant's attest_as is none")
		}
		issuer = d.issuer
	}
	conn, err := submit.Dial{
		Address: t.GetAggregatorAddress(), TLS: tlsCfg, Federation: d.id.Federation, Round: t.GetRound(),
		Verifier: d.verifier, Issuer: issuer,
		OnHandshake: func(ev atls.Event) {
			if ev.Err != nil {
				onHandshakeErr(ev.Err)
			}
		},
	}.Connect()
	if err != nil {
		return nil, fmt.Errorf("attested transport: %w", err)
	}
	return conn, nil
}
