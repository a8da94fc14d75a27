package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/provider"
	"github.com/confed/confed/internal/yamlcfg"
	confedv1 "github.com/confed/confed/proto/confed/v1"
	"google.golang.org/protobuf/proto"
)

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "model", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"get": modelGet,
	})
}

func modelGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed model get", stderr)
	var c clientFlags
	c.register(fs)
	round := fs.Int64("round", -1, "round of the model (default: the latest published)")
	var out string
	fs.StringVar(&out, "o", "", "output file (safetensors)")
	fs.StringVar(&out, "output", "", "output file (safetensors); same as -o")
	format := addFormat(fs)
	federation := fs.String("federation", "", "federation the model must belong to")
	policyFile := fs.String("policy", "", "attestation policy the aggregator's evidence must meet (YAML: tee plus its section; see docs/attestation.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" || *federation == "" {
		return fmt.Errorf("%w: -o FILE and --federation NAME are required", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q (confed model get [flags])", errUsage, fs.Args())
	}
	v, err := verifierFor(*policyFile, c.insecureSimulated)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, "downloading model")
	d, err := fetchModelWith(ctx, &c, *round, modelio.Expect{Federation: *federation, Verifier: v}, bar.receiver)
	bar.finish()
	if err != nil {
		return err
	}
	if err := writeModelFile(out, d.Model); err != nil {
		return err
	}
	return printModel(stdout, *format, out, d)
}

// modelJSON is what model get prints with --format json.
type modelJSON struct {
	File        string `json:"file"`
	Federation  string `json:"federation"`
	Round       uint64 `json:"round"`
	ModelSHA256 string `json:"model_sha256"`
	Bytes       uint64 `json:"bytes"`
	Parameters  int    `json:"parameters"`
	TEEKind     string `json:"tee_kind"`
	Insecure    bool   `json:"insecure"`
	Strategy    string `json:"strategy"`
}

func printModel(w io.Writer, format, file string, d *modelio.Downloaded) error {
	mf := d.Verified.Manifest
	if format == formatJSON {
		return writeJSON(w, modelJSON{File: file, Federation: mf.GetFederation(), Round: mf.GetRound(),
			ModelSHA256: hex.EncodeToString(d.SHA256[:]), Bytes: mf.GetModelSize(), Parameters: d.Model.NumParams(),
			TEEKind: d.Verified.Claims.Kind, Insecure: d.Verified.Claims.Insecure, Strategy: mf.GetStrategy()})
	}
	_, err := fmt.Fprintf(w, "wrote %s: round %d, sha256 %x, %d parameters, TEE %s (insecure=%v)\n", file,
		mf.GetRound(), d.SHA256, d.Model.NumParams(), d.Verified.Claims.Kind, d.Verified.Claims.Insecure)
	return err
}

// fetchModel downloads and verifies a model from the coordinator.
// A negative round means the latest published model.
func fetchModel(ctx context.Context, c *clientFlags, round int64, want modelio.Expect) (*modelio.Downloaded, error) {
	return fetchModelWith(ctx, c, round, want, func(r modelio.Receiver) modelio.Receiver { return r })
}

// fetchModelWith is fetchModel with the stream wrapped by wrap (progress).
func fetchModelWith(ctx context.Context, c *clientFlags, round int64, want modelio.Expect,
	wrap func(modelio.Receiver) modelio.Receiver) (*modelio.Downloaded, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req := &confedv1.DownloadModelRequest{}
	if round >= 0 {
		req.Round = proto.Uint64(uint64(round))
	}
	s, err := confedv1.NewOperatorClient(conn).DownloadModel(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("downloading model: %w", err)
	}
	return modelio.Receive(ctx, wrap(s), want)
}

// writeModelFile writes m atomically (temporary file, then rename).
func writeModelFile(path string, m *model.Model) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := model.WriteSafetensors(tmp, m); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// verifierFor builds the verifier of a policy file; with no file, only the
// INSECURE simulated TEE can be accepted, and only when allowed.
func verifierFor(policyFile string, insecure bool) (tee.Verifier, error) {
	opts := tee.Options{AllowInsecureSimulated: insecure}
	if policyFile == "" {
		if !insecure {
			return nil, fmt.Errorf("%w: --policy FILE is required (or --insecure-simulated-tee for a simulated aggregator)", errUsage)
		}
		return provider.SimulatedVerifier(opts)
	}
	p, err := loadPolicy(policyFile)
	if err != nil {
		return nil, err
	}
	return provider.Verifier(p, opts, provider.Hooks{})
}

// loadPolicy reads an attestation policy file strictly.
func loadPolicy(path string) (provider.Policy, error) {
	return yamlcfg.Load(path, "attestation policy", func(file string, data []byte) (provider.Policy, error) {
		var p provider.Policy
		if _, err := yamlcfg.Decode(file, data, &p); err != nil {
			return p, err
		}
		if err := p.Validate(); err != nil {
			return p, fmt.Errorf("%s: %w", file, err)
		}
		return p, nil
	})
}
