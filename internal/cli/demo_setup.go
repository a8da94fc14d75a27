package cli

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/pki"
)

// demoLayout is where the demo keeps its files.
type demoLayout struct {
	dir, pki, logs, data string
	coordAddr, aggAddr   string
	// dashAddr is the dashboard's address, empty without --serve;
	// dashToken is its operator token.
	dashAddr, dashToken string
}

func (l demoLayout) path(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}

// demoMarker marks a folder as the demo's own, so it may be wiped.
const demoMarker = ".confed-demo"

// prepareDir empties dir if it is a previous demo's folder, and refuses to
// touch a non-empty folder that is not.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("%s is not empty and is not a previous demo folder: choose another --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("created by confed demo\n"), 0o644)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// issueDemoCredentials creates the federation CA and one credential per
// process of the demo.
func issueDemoCredentials(l demoLayout, federation string, participants []string) error {
	ca, err := pki.InitCA(l.pki, federation, time.Now(), 30*24*time.Hour)
	if err != nil {
		return err
	}
	issue := func(role pki.Role, name string, hosts ...string) error {
		_, err := pki.IssueToDir(ca, pki.IssueRequest{
			Identity: pki.Identity{Federation: federation, Role: role, Name: name},
			Hosts:    hosts, Validity: 7 * 24 * time.Hour, Now: time.Now(),
		}, filepath.Join(l.pki, name))
		return err
	}
	if err := issue(pki.RoleCoordinator, "coordinator", "127.0.0.1", "localhost"); err != nil {
		return err
	}
	if err := issue(pki.RoleAggregator, "aggregator", "127.0.0.1", "localhost"); err != nil {
		return err
	}
	if err := issue(pki.RoleOperator, "operator"); err != nil {
		return err
	}
	for _, p := range participants {
		if err := issue(pki.RoleParticipant, p); err != nil {
			return err
		}
	}
	return nil
}

func tlsYAML(l demoLayout, name string) string {
	d := filepath.Join(l.pki, name)
	return fmt.Sprintf("tls:\n  cert: %s\n  key: %s\n  ca: %s\n",
		filepath.Join(d, name+".crt"), filepath.Join(d, name+".key"), filepath.Join(d, "ca.crt"))
}

func operatorFiles(l demoLayout) pki.Files {
	d := filepath.Join(l.pki, "operator")
	return pki.Files{Cert: filepath.Join(d, "operator.crt"), Key: filepath.Join(d, "operator.key"), CA: filepath.Join(d, "ca.crt")}
}

// writeDemoConfigs writes the round configuration and each daemon's config.
// Each hospital gets a copy of its own data file only.
func writeDemoConfigs(l demoLayout, roundCfg []byte, dataDir string) error {
	files := map[string]string{
		"federation.yaml":  string(roundCfg),
		"coordinator.yaml": fmt.Sprintf("listen: %s\ndatabase: coordinator.db\nround_config: federation.yaml\naggregator_address: %s\n%s%s", l.coordAddr, l.aggAddr, tlsYAML(l, "coordinator"), dashboardYAML(l)),
		"aggregator.yaml":  fmt.Sprintf("listen: %s\ncoordinator: %s\n%s%s", l.aggAddr, l.coordAddr, tlsYAML(l, "aggregator"), simulatedPolicy("attestation")),
	}
	for _, h := range heartdisease.Hospitals {
		dst := filepath.Join(l.data, h.Name, h.File)
		if err := copyFile(filepath.Join(dataDir, h.File), dst); err != nil {
			return fmt.Errorf("copying data of %s: %w", h.Name, err)
		}
		files["participant-"+h.Name+".yaml"] = fmt.Sprintf("coordinator: %s\ndata:\n  format: uci-heart-disease\n  path: %s\n%s%s",
			l.coordAddr, dst, tlsYAML(l, h.Name), simulatedPolicy("aggregator_attestation"))
	}
	for name, content := range files {
		if err := os.WriteFile(l.path(name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// simulatedPolicy is the demo's attestation policy: the INSECURE simulated
// TEE, which each daemon also accepts only with --insecure-simulated-tee.
func simulatedPolicy(key string) string {
	return key + ":\n  tee: simulated  # INSECURE: no TEE hardware on this machine\n"
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
