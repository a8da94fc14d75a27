package yamlcfg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Decode parses data (from file, used in messages) strictly into out, which
// must be a non-nil pointer to a struct: unknown keys, duplicate keys, wrong
// types, empty values, YAML merge keys, multiple documents and an empty
// document are errors naming file:line:key. Keys absent from data leave the
// fields of out as they were, so decoding into a Default() overlays the file
// on the defaults; a list in the file replaces the default list.
//
// All problems are reported, ordered by line (see Join). The returned Locator
// is never nil; it knows the lines of the keys that were read, for errors
// found later by Validate.
func Decode(file string, data []byte, out any) (*Locator, error) {
	loc := newLocator(file)
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return loc, fmt.Errorf("yamlcfg: Decode needs a non-nil pointer to a struct, got %T", out)
	}
	root, err := parseOne(file, data)
	if err != nil {
		return loc, err
	}
	d := &decoder{loc: loc, following: make(map[*yaml.Node]bool)}
	d.value(root, rv.Elem(), "", root.Line)
	return loc, Join(d.errs...)
}

// parseOne parses data into a node tree and returns the root of its only
// document.
func parseOne(file string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML parser reports its own errors as values; anything else
		// it throws is still bad input, not a reason to crash the daemon.
		if r := recover(); r != nil {
			root, err = nil, &FieldError{File: file, Msg: fmt.Sprintf("invalid YAML (the parser failed: %v)", r)}
		}
	}()
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, emptyError(file)
		}
		return nil, syntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &FieldError{File: file, Line: next.Line,
			Msg: `a second YAML document starts here: expected exactly one document (remove the "---" separator)`}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, data, err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, emptyError(file)
	}
	return doc.Content[0], nil
}

func emptyError(file string) error {
	return &FieldError{File: file, Msg: "empty document: expected a mapping of settings such as \"key: value\""}
}

// yamlError matches the parser's "yaml: line N: problem" messages.
var yamlError = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the problems of the YAML parser proper. It reports
// their lines 0-based (its scanner's, 1-based), and none when that is 0.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// syntaxError turns a YAML parser error into a FieldError with the 1-based
// line it is about.
func syntaxError(file string, data []byte, err error) error {
	m := yamlError.FindStringSubmatch(err.Error())
	if m == nil {
		return &FieldError{File: file, Msg: "invalid YAML: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1]) // "" (no line) gives 0
	problem := m[2]
	switch {
	case parserProblems[problem]:
		line++
	case m[1] == "" && unknownAnchor.MatchString(problem):
		line = aliasLine(data, unknownAnchor.FindStringSubmatch(problem)[1])
		problem += ": define the anchor (&name) before using it"
	case m[1] == "" && !strings.HasPrefix(problem, "attempted"):
		// The scanner leaves out line 1 (its 0-based 0).
		line = 1
	}
	if last := lastLine(data); line > last {
		line, problem = last, problem+" (at the end of the file)"
	}
	return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + problem}
}

// aliasLine returns the line of the first alias *name in data, or 0.
func aliasLine(data []byte, name string) int {
	re := regexp.MustCompile(`\*` + regexp.QuoteMeta(name) + `(?:[\s,\]}]|$)`)
	loc := re.FindIndex(data)
	if loc == nil {
		return 0
	}
	return lineAt(data, loc[0])
}

// lineAt is the 1-based line of data[offset], counting LF, CRLF and CR as
// line breaks.
func lineAt(data []byte, offset int) int {
	before := data[:offset]
	return 1 + bytes.Count(before, []byte("\n")) + bytes.Count(before, []byte("\r")) - bytes.Count(before, []byte("\r\n"))
}

// lastLine is the number of the last line of data that holds anything.
func lastLine(data []byte) int {
	n := lineAt(data, len(data))
	if len(data) > 0 && (data[len(data)-1] == '\n' || data[len(data)-1] == '\r') {
		n--
	}
	return max(n, 1)
}

// checkText finds the first byte YAML cannot read: invalid UTF-8 or a
// control character other than tab, LF and CR. The parser reports these
// without a line.
func checkText(file string, data []byte) error {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return &FieldError{File: file, Line: lineAt(data, i), Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): save the file as UTF-8", data[i])}
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return &FieldError{File: file, Line: lineAt(data, i), Msg: fmt.Sprintf("control character %U is not allowed in YAML", r)}
		}
		i += size
	}
	return nil
}

// Load reads the file at path and hands it to parse; what names the kind of
// file in the error when it cannot be read ("round configuration").
func Load[T any](path, what string, parse func(file string, data []byte) (T, error)) (T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return parse(path, data)
}
