package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// Row is one line of the closing table: what was tried, how often, and
// how often it held.
type Row struct {
	Section string `json:"section"` // load, fault, hostile, limit
	Name    string `json:"name"`
	Tried   int    `json:"tried"`
	Held    int    `json:"held"`
	// Detail is the figures, or the reasons given for refusals.
	Detail string `json:"detail"`
	// Err says what did not hold ("" when Held == Tried).
	Err string `json:"error,omitempty"`
}

// OK reports whether every try held.
func (r Row) OK() bool { return r.Tried > 0 && r.Held == r.Tried && r.Err == "" }

// Report is the result of a whole run.
type Report struct {
	Date string `json:"date"`
	Plan string `json:"plan"`
	Seed uint64 `json:"seed"`
	Rows []Row  `json:"rows"`
	Load []Load `json:"load,omitempty"`
	// StoresVerified counts the coordinator files verified (after every
	// fault scenario); Verified is true when all of them verified.
	StoresVerified int     `json:"stores_verified"`
	Verified       bool    `json:"verified"`
	Seconds        float64 `json:"seconds"`
}

// OK reports whether every row held.
func (r *Report) OK() bool {
	for _, row := range r.Rows {
		if !row.OK() {
			return false
		}
	}
	return r.Verified
}

// Print writes the closing table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "confed reliability (%s plan, seed %d, %s)\n\n", r.Plan, r.Seed, r.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "section\twhat was tried\theld/tried\tdetail")
	for _, row := range r.Rows {
		mark := fmt.Sprintf("%d/%d", row.Held, row.Tried)
		if !row.OK() {
			mark += " FAILED"
		}
		detail := row.Detail
		if row.Err != "" {
			detail += " | " + firstLine(row.Err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Section, row.Name, mark, detail)
	}
	tw.Flush()
	if len(r.Load) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "load: N\tparams\tmodel\tstaging K\trounds\tpeak VmHWM\tpeak/model\tbound\tsubmissions/s\tMB/s")
		for _, l := range r.Load {
			fmt.Fprintf(tw, "%d\t%d\t%.1f MB\t%d\t%d\t%.1f MB\t%.2f×\t%.2f×\t%.1f\t%.1f\n", l.N, l.Params, float64(l.ModelBytes)/1e6,
				l.Staging, l.Rounds, float64(l.PeakKiB)/1024*1.048576, l.PeakMultiple, l.BoundMultiple, l.SubmissionsPerSec, l.BytesPerSec/1e6)
		}
		tw.Flush()
	}
	verdict := "every published model and ledger record verified after every fault"
	if !r.Verified {
		verdict = "NOT every published model and ledger record verified"
	}
	fmt.Fprintf(w, "\n%s (%d coordinator files checked)\n", verdict, r.StoresVerified)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return trim(s, 200)
}

// WriteJSON writes the report to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
