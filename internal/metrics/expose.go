package metrics

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// ContentType is the media type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes every family in the text exposition format 0.0.4:
// families ordered by name, each with its HELP and TYPE lines, series
// ordered by label values; histograms as cumulative _bucket series (le
// last, ending with le="+Inf"), _sum and _count.
func (r *Registry) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.sortedFamilies() {
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + string(f.typ) + "\n")
		for _, s := range f.sortedSeries() {
			writeSeries(bw, f, s)
		}
	}
	return bw.Flush()
}

func writeSeries(w *bufio.Writer, f *family, s *series) {
	switch f.typ {
	case TypeCounter:
		writeSample(w, f.name, f.labels, s.values, "", "", strconv.FormatUint(s.c.Value(), 10))
	case TypeGauge:
		writeSample(w, f.name, f.labels, s.values, "", "", FormatFloat(s.g.Value()))
	case TypeHistogram:
		snap := s.h.Snapshot()
		for i, c := range snap.Cumulative {
			le := "+Inf"
			if i < len(snap.Upper) {
				le = FormatFloat(snap.Upper[i])
			}
			writeSample(w, f.name+"_bucket", f.labels, s.values, "le", le, strconv.FormatUint(c, 10))
		}
		writeSample(w, f.name+"_sum", f.labels, s.values, "", "", FormatFloat(snap.Sum))
		writeSample(w, f.name+"_count", f.labels, s.values, "", "", strconv.FormatUint(snap.Count, 10))
	}
}

// writeSample writes one line; extraName/extraValue is an additional last
// label (le) when extraName is not empty.
func writeSample(w *bufio.Writer, name string, labels, values []string, extraName, extraValue, value string) {
	w.WriteString(name)
	if len(labels) > 0 || extraName != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l + `="` + EscapeLabelValue(values[i]) + `"`)
		}
		if extraName != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extraName + `="` + EscapeLabelValue(extraValue) + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteString(" " + value + "\n")
}

// FormatFloat formats a sample value or bucket bound as the format expects:
// +Inf, -Inf, NaN, or the shortest decimal that reads back as v.
func FormatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// escapeHelp escapes a HELP text: backslash and line feed.
// Invalid UTF-8 is replaced, as the format requires UTF-8.
func escapeHelp(s string) string { return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

// EscapeLabelValue escapes a label value: backslash, double quote and line
// feed. Invalid UTF-8 is replaced, as the format requires UTF-8.
func EscapeLabelValue(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }
