package metrics

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Family is one parsed metric family.
type Family struct {
	Name    string
	Help    string
	Type    Type // counter, gauge, histogram, summary or untyped
	Samples []Sample

	hasHelp bool
}

// Sample is one parsed sample line.
type Sample struct {
	// Name is the sample's name: the family's, or for a histogram the
	// family's with _bucket, _sum or _count.
	Name   string
	Labels []Label // in the order written
	Value  float64
	// Timestamp is the optional timestamp in milliseconds, 0 if absent.
	Timestamp int64
}

// Label is one label pair.
type Label struct{ Name, Value string }

// Exposition is a parsed scrape.
type Exposition struct {
	Families []*Family
}

// maxParseBytes bounds what Parse reads: a scrape of a confed daemon is a
// few tens of kilobytes.
const maxParseBytes = 16 << 20

var (
	floatValue = regexp.MustCompile(`^(?:[+-]?Inf|NaN|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)$`)
	intValue   = regexp.MustCompile(`^-?[0-9]{1,19}$`)
	knownTypes = []Type{TypeCounter, TypeGauge, TypeHistogram, "summary", "untyped"}
)

// Parse parses the text exposition format 0.0.4 strictly: every line ends
// with a line feed; HELP and TYPE come at most once per family and before
// its samples; a family's samples are contiguous and each series appears
// once; label names are valid and not repeated, label values valid UTF-8
// with only the \\, \" and \n escapes; values are decimal floats, +Inf,
// -Inf or NaN; counters are not negative; and every histogram series has
// increasing buckets ending with le="+Inf", non-decreasing cumulative
// counts, a _sum, and a _count equal to its +Inf bucket. Errors name the
// line.
func Parse(data []byte) (*Exposition, error) {
	if len(data) > maxParseBytes {
		return nil, fmt.Errorf("metrics: exposition of %d bytes exceeds the %d-byte limit", len(data), maxParseBytes)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("metrics: the last line does not end with a line feed")
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("metrics: exposition is not valid UTF-8")
	}
	p := &parser{exp: &Exposition{}, seen: map[string]*Family{}, series: map[string]bool{}}
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines[:len(lines)-1] {
		if err := p.line(string(line)); err != nil {
			return nil, fmt.Errorf("metrics: line %d: %w", i+1, err)
		}
	}
	for _, f := range p.exp.Families {
		if f.Type == "" {
			f.Type = "untyped" // HELP without TYPE
		}
		if err := checkFamily(f); err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", f.Name, err)
		}
	}
	return p.exp, nil
}

type parser struct {
	exp    *Exposition
	cur    *Family
	seen   map[string]*Family
	series map[string]bool
}

func (p *parser) line(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return nil
	case strings.HasPrefix(s, "#"):
		return p.comment(s)
	}
	return p.sample(s)
}

// comment handles HELP and TYPE lines; other comments are ignored.
func (p *parser) comment(s string) error {
	fields := strings.SplitN(strings.TrimLeft(s[1:], " \t"), " ", 3)
	if len(fields) < 2 || (fields[0] != "HELP" && fields[0] != "TYPE") {
		return nil
	}
	name := fields[1]
	if !metricName.MatchString(name) {
		return fmt.Errorf("invalid metric name %q", name)
	}
	rest := ""
	if len(fields) == 3 {
		rest = fields[2]
	}
	f, err := p.family(name, true)
	if err != nil {
		return err
	}
	if len(f.Samples) > 0 {
		return fmt.Errorf("%s line for %s after its samples", fields[0], name)
	}
	if fields[0] == "HELP" {
		return p.help(f, rest)
	}
	return p.typ(f, rest)
}

func (p *parser) help(f *Family, text string) error {
	if f.hasHelp {
		return fmt.Errorf("second HELP line for %s", f.Name)
	}
	h, err := unescape(text, false)
	if err != nil {
		return fmt.Errorf("HELP of %s: %w", f.Name, err)
	}
	f.Help, f.hasHelp = h, true
	return nil
}

func (p *parser) typ(f *Family, t string) error {
	if f.Type != "" {
		return fmt.Errorf("second TYPE line for %s", f.Name)
	}
	if !slices.Contains(knownTypes, Type(t)) {
		return fmt.Errorf("unknown type %q for %s", t, f.Name)
	}
	f.Type = Type(t)
	return nil
}

// family returns the family called name, starting it if it is new. A
// family that another one followed cannot be resumed.
func (p *parser) family(name string, declared bool) (*Family, error) {
	if p.cur != nil && p.cur.Name == name {
		return p.cur, nil
	}
	if _, ok := p.seen[name]; ok {
		return nil, fmt.Errorf("lines of %s are not contiguous", name)
	}
	f := &Family{Name: name}
	if !declared {
		f.Type = "untyped"
	}
	p.seen[name] = f
	p.cur = f
	p.exp.Families = append(p.exp.Families, f)
	return f, nil
}

func (p *parser) sample(s string) error {
	name, rest := splitName(s)
	if !metricName.MatchString(name) {
		return fmt.Errorf("invalid metric name in %q", s)
	}
	var labels []Label
	if strings.HasPrefix(rest, "{") {
		var err error
		if labels, rest, err = parseLabels(rest[1:]); err != nil {
			return err
		}
	}
	smp := Sample{Name: name, Labels: labels}
	if err := parseValue(&smp, rest); err != nil {
		return err
	}
	f, err := p.familyOf(name)
	if err != nil {
		return err
	}
	key := seriesKey(name, labels)
	if p.series[key] {
		return fmt.Errorf("series %s appears twice", key)
	}
	p.series[key] = true
	f.Samples = append(f.Samples, smp)
	return nil
}

// familyOf finds the family a sample name belongs to: the current one (by
// its name, or its histogram/summary suffixes), or a new untyped one.
func (p *parser) familyOf(name string) (*Family, error) {
	if f := p.cur; f != nil && (f.Type == TypeHistogram || f.Type == "summary") {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if name == f.Name+suf && (suf != "_bucket" || f.Type == TypeHistogram) {
				return f, nil
			}
		}
		if name == f.Name {
			if f.Type == TypeHistogram {
				return nil, fmt.Errorf("histogram %s has a sample without a _bucket, _sum or _count suffix", f.Name)
			}
			return f, nil
		}
	}
	return p.family(name, false)
}

func splitName(s string) (name, rest string) {
	i := strings.IndexAny(s, "{ \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// parseLabels parses `name="value",...}` and returns what follows the
// closing brace.
func parseLabels(s string) ([]Label, string, error) {
	var out []Label
	for {
		if strings.HasPrefix(s, "}") {
			return out, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, "", fmt.Errorf("label without '=' in %q", s)
		}
		name := s[:eq]
		if !labelName.MatchString(name) {
			return nil, "", fmt.Errorf("invalid label name %q", name)
		}
		if slices.ContainsFunc(out, func(l Label) bool { return l.Name == name }) {
			return nil, "", fmt.Errorf("label %s repeated", name)
		}
		val, rest, err := quoted(s[eq+1:])
		if err != nil {
			return nil, "", fmt.Errorf("label %s: %w", name, err)
		}
		out = append(out, Label{name, val})
		switch {
		case strings.HasPrefix(rest, ","):
			s = rest[1:]
		case strings.HasPrefix(rest, "}"):
			s = rest
		default:
			return nil, "", fmt.Errorf("expected ',' or '}' after label %s", name)
		}
	}
}

// quoted reads a double-quoted label value with its escapes.
func quoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("value must be double-quoted")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := unescape(s[1:i], true)
			return v, s[i+1:], err
		}
	}
	return "", "", fmt.Errorf("unterminated value")
}

// unescape undoes \\ and \n (and \" in label values); any other escape, or
// a bare line feed, is an error.
func unescape(s string, label bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("trailing backslash")
		}
		i++
		switch {
		case s[i] == '\\':
			b.WriteByte('\\')
		case s[i] == 'n':
			b.WriteByte('\n')
		case s[i] == '"' && label:
			b.WriteByte('"')
		default:
			return "", fmt.Errorf("invalid escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// parseValue reads " value [timestamp]".
func parseValue(smp *Sample, s string) error {
	if s == "" || (s[0] != ' ' && s[0] != '\t') {
		return fmt.Errorf("expected a blank and a value after %s", smp.Name)
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return fmt.Errorf("expected a value and an optional timestamp, got %q", strings.TrimSpace(s))
	}
	if !floatValue.MatchString(fields[0]) {
		return fmt.Errorf("invalid value %q", fields[0])
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil && !math.IsInf(v, 0) {
		return fmt.Errorf("invalid value %q", fields[0])
	}
	smp.Value = v
	if len(fields) == 2 {
		if !intValue.MatchString(fields[1]) {
			return fmt.Errorf("invalid timestamp %q", fields[1])
		}
		if smp.Timestamp, err = strconv.ParseInt(fields[1], 10, 64); err != nil {
			return fmt.Errorf("invalid timestamp %q", fields[1])
		}
	}
	return nil
}

// seriesKey identifies a series: its name and labels in name order.
func seriesKey(name string, labels []Label) string {
	ls := slices.Clone(labels)
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString(name + "{")
	for _, l := range ls {
		b.WriteString(l.Name + "=" + strconv.Quote(l.Value) + ",")
	}
	b.WriteString("}")
	return b.String()
}
