package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func runRounds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "rounds", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"ls": roundsList,
	})
}

func runRound(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(ctx, "round", args, stdout, stderr, map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"show": roundShow,
	})
}

func roundsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed rounds ls", stderr)
	var c clientFlags
	c.register(fs)
	format := addFormat(fs)
	refuseFormatO(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := confedv1.NewOperatorClient(conn).ListRounds(ctx, &confedv1.ListRoundsRequest{})
	if err != nil {
		return fmt.Errorf("listing rounds: %w", err)
	}
	if *format == formatJSON {
		return writeProtoJSON(stdout, resp)
	}
	printRounds(stdout, resp)
	return nil
}

func printRounds(w io.Writer, resp *confedv1.ListRoundsResponse) {
	fmt.Fprintf(w, "federation %s: %d rounds planned, finished=%v\n", resp.GetFederation(), resp.GetPlannedRounds(), resp.GetFinished())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tSTATE\tINCLUDED\tMODEL\tTEE\tREASON")
	for _, r := range resp.GetRounds() {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", r.GetRound(), stateLabel(r.GetState()), included(r),
			short(r.GetModelSha256()), teeLabel(r), r.GetReason())
	}
	tw.Flush()
}

func roundShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confed round show", stderr)
	var c clientFlags
	c.register(fs)
	format := addFormat(fs)
	refuseFormatO(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: confed round show [flags] ROUND", errUsage)
	}
	n, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: round %q is not a number", errUsage, pos[0])
	}
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	r, err := confedv1.NewOperatorClient(conn).GetRound(ctx, &confedv1.GetRoundRequest{Round: n})
	if err != nil {
		return fmt.Errorf("reading round %d: %w", n, err)
	}
	if *format == formatJSON {
		return writeProtoJSON(stdout, r)
	}
	printRound(stdout, r)
	return nil
}

func printRound(w io.Writer, r *confedv1.RoundStatus) {
	fmt.Fprintf(w, "round %d: %s", r.GetRound(), stateLabel(r.GetState()))
	if r.GetReason() != "" {
		fmt.Fprintf(w, " (%s)", r.GetReason())
	}
	fmt.Fprintf(w, "\nTEE: %s\nmodel: %s\n", teeLabel(r), hex.EncodeToString(r.GetModelSha256()))
	if t := r.GetOpenedAt(); t != nil {
		fmt.Fprintf(w, "opened: %s\n", t.AsTime().Format(time.RFC3339))
	}
	if t := r.GetClosedAt(); t != nil {
		fmt.Fprintf(w, "closed: %s\n", t.AsTime().Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTICIPANT\tINCLUDED\tEXAMPLES\tLOCAL ACC\tREASON")
	for _, s := range r.GetSubmissions() {
		fmt.Fprintf(tw, "%s\t%v\t%d\t%.3f\t%s\n", s.GetParticipant(), s.GetIncluded(), s.GetNumExamples(),
			s.GetMetrics()["local_accuracy"], s.GetReason())
	}
	tw.Flush()
}

func stateLabel(s confedv1.RoundState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "ROUND_STATE_"))
}

func teeLabel(r *confedv1.RoundStatus) string {
	if r.GetInsecure() {
		return r.GetTeeKind() + " (INSECURE)"
	}
	return r.GetTeeKind()
}

func included(r *confedv1.RoundStatus) int {
	n := 0
	for _, s := range r.GetSubmissions() {
		if s.GetIncluded() {
			n++
		}
	}
	return n
}

func short(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)[:12]
}
