package cli

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/confed/confed/internal/pki"
)

// clientFlags are the flags of commands that talk to the coordinator.
type clientFlags struct {
	addr string
	pki.Files
	insecureSimulated bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "coordinator", os.Getenv("CONFED_COORDINATOR"), "coordinator address host:port (env CONFED_COORDINATOR)")
	fs.StringVar(&c.Cert, "cert", os.Getenv("CONFED_CERT"), "client certificate issued by the federation CA (env CONFED_CERT)")
	fs.StringVar(&c.Key, "key", os.Getenv("CONFED_KEY"), "client private key (env CONFED_KEY)")
	fs.StringVar(&c.CA, "ca", os.Getenv("CONFED_CA"), "federation CA certificate (env CONFED_CA)")
	fs.BoolVar(&c.insecureSimulated, "insecure-simulated-tee", false, "accept models signed by an aggregator in the INSECURE simulated TEE")
}

func (c *clientFlags) dial() (*grpc.ClientConn, error) {
	if c.addr == "" {
		return nil, fmt.Errorf("%w: --coordinator is required", errUsage)
	}
	if err := c.Files.Validate(); err != nil {
		return nil, fmt.Errorf("%w: credentials: %v", errUsage, err)
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return nil, fmt.Errorf("%w: --coordinator %q: %v", errUsage, c.addr, err)
	}
	tlsCfg, err := pki.ClientTLSFor(c.Files, host, pki.RoleCoordinator)
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(c.addr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}))
}
