package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/confed/confed/coordinator/ledger"
	"github.com/confed/confed/coordinator/store"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "ledger", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"verify": ledgerVerify,
		"show":   ledgerShow,
	})
}

type ledgerSource struct {
	client clientFlags
	db     string
}

func (s *ledgerSource) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&s.db, "db", "", "read the ledger from a coordinator's bbolt file (the coordinator must be stopped)")
}

// entries reads the ledger from the database file or from the coordinator.
func (s *ledgerSource) entries(ctx context.Context) ([]ledger.Entry, *store.Store, error) {
	if s.db != "" {
		st, err := store.Open(s.db, store.Options{})
		if err != nil {
			return nil, nil, err
		}
		es, err := st.Ledger()
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		return es, st, nil
	}
	conn, err := s.client.dial()
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	stream, err := confedv1.NewOperatorClient(conn).GetLedger(ctx, &confedv1.LedgerRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("reading ledger: %w", err)
	}
	var out []ledger.Entry
	for {
		e, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading ledger: %w", err)
		}
		var sum [32]byte
		copy(sum[:], e.GetSha256())
		out = append(out, ledger.Entry{Index: e.GetIndex(), Canonical: e.GetRecord(), SHA256: sum})
	}
}

func ledgerVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed ledger verify", stderr)
	var src ledgerSource
	src.client.register(fs)
	src.register(fs)
	format := addFormat(fs)
	refuseFormatO(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	entries, st, err := src.entries(ctx)
	if err != nil {
		return err
	}
	opts := ledger.VerifyOptions{RequireEvidence: true}
	if st != nil {
		defer st.Close()
		opts.ModelSHA256 = modelHasher(st)
	}
	rep, err := ledger.Verify(entries, opts)
	if *format == formatJSON {
		if jerr := writeJSON(stdout, newLedgerJSON(rep, err, st != nil)); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return fmt.Errorf("ledger does NOT verify: %w", err)
	}
	if *format == formatJSON {
		return nil
	}
	fmt.Fprintf(stdout, "ledger verifies: %d records (%d published rounds, %d failed), head %x\n",
		rep.Records, rep.Published, rep.Failed, rep.Head)
	if rep.Insecure {
		fmt.Fprintln(stdout, "WARNING: records come from the INSECURE simulated TEE: no hardware protected these rounds")
	}
	if st == nil {
		fmt.Fprintln(stdout, "(model bytes were not re-hashed: use --db on a stopped coordinator's file for that)")
	}
	return nil
}

// ledgerJSON is what ledger verify prints with --format json, whether the
// ledger verifies or not.
type ledgerJSON struct {
	Verified        bool   `json:"verified"`
	Records         int    `json:"records"`
	Published       int    `json:"published"`
	Failed          int    `json:"failed"`
	Insecure        bool   `json:"insecure"`
	WithoutEvidence int    `json:"without_evidence"`
	HeadSHA256      string `json:"head_sha256"`
	ModelsRehashed  bool   `json:"models_rehashed"`
	// Error, FailedIndex, FailedKind and FailedRound say which record
	// failed and why, when Verified is false.
	Error       string  `json:"error,omitempty"`
	FailedIndex *uint64 `json:"failed_index,omitempty"`
	FailedKind  string  `json:"failed_kind,omitempty"`
	FailedRound *uint64 `json:"failed_round,omitempty"`
}

func newLedgerJSON(rep ledger.Report, err error, rehashed bool) ledgerJSON {
	out := ledgerJSON{Verified: err == nil, Records: rep.Records, Published: rep.Published, Failed: rep.Failed,
		Insecure: rep.Insecure, WithoutEvidence: rep.WithoutEvidence, ModelsRehashed: rehashed}
	if err == nil {
		out.HeadSHA256 = hex.EncodeToString(rep.Head[:])
		return out
	}
	out.Error = err.Error()
	var ve *ledger.VerifyError
	if errors.As(err, &ve) {
		out.FailedIndex = &ve.Index
		if ve.Parsed {
			out.FailedKind, out.FailedRound = ve.Kind, &ve.Round
		}
	}
	return out
}

func modelHasher(st *store.Store) func(uint64) ([32]byte, error) {
	return func(r uint64) ([32]byte, error) {
		mr, err := st.OpenModel(r)
		if err != nil {
			return [32]byte{}, err
		}
		return hashReader(mr)
	}
}

func ledgerShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed ledger show", stderr)
	var src ledgerSource
	src.client.register(fs)
	src.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	entries, st, err := src.entries(ctx)
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	for _, e := range entries {
		fmt.Fprintf(stdout, "%s\n", e.Canonical)
	}
	return nil
}
