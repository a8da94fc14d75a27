package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/confed/confed/internal/pki"
)

// Default lifetimes of `confed ca` certificates.
const (
	defaultCAValidity   = 87600 * time.Hour // ten years
	defaultCertValidity = 8760 * time.Hour  // one year
)

// runCA implements `confed ca init --dir DIR --federation NAME` and
// `confed ca issue --ca DIR --role ROLE --name NAME [--host H]... [--validity 8760h] --out DIR`.
// args are the arguments after "ca". It prints what it wrote (paths,
// identity URI, certificate fingerprint), never key material.
func runCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "ca", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"init":  runCAInit,
		"issue": runCAIssue,
	})
}

// runCAInit creates the federation's CA.
func runCAInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed ca init", stderr)
	dir := fs.String("dir", "", "directory to write ca.crt and ca.key to (required)")
	federation := fs.String("federation", "", "federation name, [a-z0-9][a-z0-9-]{0,62} (required)")
	validity := fs.Duration("validity", defaultCAValidity, "CA lifetime")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkCAFlags(fs.Args(), *validity, "dir", *dir, "federation", *federation); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := pki.ValidateName(*federation); err != nil {
		return fmt.Errorf("init: %w: --federation: %v", errUsage, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	ca, err := pki.InitCA(*dir, *federation, time.Now(), *validity)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "created the CA of federation %q\n", ca.Federation)
	fmt.Fprintf(stdout, "  certificate: %s\n", filepath.Join(*dir, pki.CACertFile))
	fmt.Fprintf(stdout, "  key:         %s (mode 0600; keep it offline)\n", filepath.Join(*dir, pki.CAKeyFile))
	printCert(stdout, ca.Cert.NotAfter, pki.Fingerprint(ca.Cert))
	return nil
}

// runCAIssue issues a certificate for one identity of the federation.
func runCAIssue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed ca issue", stderr)
	caDir := fs.String("ca", "", "CA directory holding ca.crt and ca.key (required)")
	role := fs.String("role", "", "role: coordinator, aggregator, participant or operator (required)")
	name := fs.String("name", "", "name, [a-z0-9][a-z0-9-]{0,62} (required)")
	out := fs.String("out", "", "directory to write NAME.crt, NAME.key and ca.crt to (required)")
	validity := fs.Duration("validity", defaultCertValidity, "certificate lifetime")
	var hosts []string
	fs.Func("host", "DNS name or IP address the certificate serves (repeatable; servers only)", func(h string) error {
		hosts = append(hosts, h)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkCAFlags(fs.Args(), *validity, "ca", *caDir, "role", *role, "name", *name, "out", *out); err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	ca, err := pki.LoadCA(*caDir)
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	id := pki.Identity{Federation: ca.Federation, Role: pki.Role(*role), Name: *name}
	if err := id.Validate(); err != nil {
		return fmt.Errorf("issue: %w: %v", errUsage, err)
	}
	req := pki.IssueRequest{Identity: id, Hosts: hosts, Validity: *validity, Now: time.Now()}
	files, err := pki.IssueToDir(ca, req, *out)
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	return printIssued(stdout, id, hosts, files)
}

// checkCAFlags rejects positional arguments, a non-positive validity and
// missing required flags, given as name/value pairs.
func checkCAFlags(rest []string, validity time.Duration, required ...string) error {
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, rest)
	}
	if validity <= 0 {
		return fmt.Errorf("%w: --validity must be positive, got %s", errUsage, validity)
	}
	for i := 0; i+1 < len(required); i += 2 {
		if required[i+1] == "" {
			return fmt.Errorf("%w: --%s is required", errUsage, required[i])
		}
	}
	return nil
}

// printIssued reports an issued identity, reading back its certificate for
// the fingerprint.
func printIssued(w io.Writer, id pki.Identity, hosts []string, f pki.Files) error {
	cert, err := pki.ReadCertificate(f.Cert)
	if err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	fmt.Fprintf(w, "issued %s\n", id)
	fmt.Fprintf(w, "  identity:    %s\n", id.URI())
	fmt.Fprintf(w, "  certificate: %s\n", f.Cert)
	fmt.Fprintf(w, "  key:         %s (mode 0600)\n", f.Key)
	fmt.Fprintf(w, "  ca:          %s\n", f.CA)
	if len(hosts) > 0 {
		fmt.Fprintf(w, "  hosts:       %s\n", strings.Join(hosts, ", "))
	}
	printCert(w, cert.NotAfter, pki.Fingerprint(cert))
	return nil
}

func printCert(w io.Writer, notAfter time.Time, fingerprint string) {
	fmt.Fprintf(w, "  valid until: %s\n", notAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "  fingerprint: sha256:%s\n", fingerprint)
}
