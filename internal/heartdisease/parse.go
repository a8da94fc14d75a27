package heartdisease

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// maxLineBytes bounds the length of one line; real records are under 100 bytes.
const maxLineBytes = 64 * 1024

// Stats counts what Parse saw.
type Stats struct {
	RowsRead    int // non-blank lines read
	RowsDropped int // rows dropped because a kept column was missing ('?')
}

// RowsKept returns the number of rows in the parsed dataset.
func (s Stats) RowsKept() int { return s.RowsRead - s.RowsDropped }

// Load reads and preprocesses the data file at path (see Parse). Errors name the
// file by its base name.
func Load(path string) (Dataset, Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, Stats{}, fmt.Errorf("heartdisease: %w", err)
	}
	defer f.Close()
	return Parse(filepath.Base(path), f)
}

// Parse reads records from r and preprocesses them as described in the package
// documentation. name identifies the input in error messages. Rows with a missing
// value in a kept column are dropped and counted in Stats; any malformed value is
// an error (a *ParseError, possibly wrapped).
func Parse(name string, r io.Reader) (Dataset, Stats, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	var (
		ds    Dataset
		st    Stats
		lineN int
	)
	for sc.Scan() {
		lineN++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if lineN == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		st.RowsRead++
		x, y, ok, err := parseLine(name, lineN, line)
		if err != nil {
			return Dataset{}, st, err
		}
		if !ok {
			st.RowsDropped++
			continue
		}
		ds.X = append(ds.X, x)
		ds.Y = append(ds.Y, y)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Dataset{}, st, &ParseError{File: name, Line: lineN + 1, Column: 1,
				Expected: fmt.Sprintf("a line of at most %d bytes", maxLineBytes), Err: ErrLineTooLong}
		}
		return Dataset{}, st, fmt.Errorf("heartdisease: reading %s: %w", name, err)
	}
	return ds, st, nil
}

// parseLine parses one record. ok is false when the row must be dropped because
// a kept column is missing.
func parseLine(name string, lineN int, line string) (x []float64, y float64, ok bool, err error) {
	var rec [numColumns]float64
	missing := false
	start, col := 0, 0
	for {
		end := strings.IndexByte(line[start:], ',')
		last := end < 0
		if last {
			end = len(line)
		} else {
			end += start
		}
		if col == numColumns {
			return nil, 0, false, columnCountError(name, lineN, start+1, line)
		}
		v, isMissing, perr := parseField(line[start:end], columns[col])
		if perr != nil {
			perr.File, perr.Line = name, lineN
			perr.Column = start + 1 + leadingSpace(line[start:end])
			return nil, 0, false, perr
		}
		rec[col] = v
		if isMissing && !columns[col].dropped {
			missing = true
		}
		col++
		if last {
			break
		}
		start = end + 1
	}
	if col != numColumns {
		return nil, 0, false, columnCountError(name, lineN, len(line)+1, line)
	}
	if missing {
		return nil, 0, false, nil
	}
	x, y = features(&rec)
	return x, y, true, nil
}

// columnCountError reports a line with the wrong number of columns.
func columnCountError(name string, lineN, column int, line string) error {
	n := strings.Count(line, ",") + 1
	return &ParseError{File: name, Line: lineN, Column: column,
		Expected: fmt.Sprintf("%d comma-separated columns, found %d", numColumns, n), Err: ErrColumnCount}
}

// parseField parses one value of column c. The returned error has only Field,
// Expected and Err set.
func parseField(s string, c column) (v float64, missing bool, err *ParseError) {
	s = strings.TrimSpace(s)
	if s == "?" {
		return 0, true, nil
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		expected := "a finite number or '?'"
		if c.kind == kindCategory {
			expected = fmt.Sprintf("an integer from %d to %d or '?'", c.lo, c.hi)
		}
		return 0, false, &ParseError{Field: c.name, Expected: expected, Err: ErrBadNumber}
	}
	if c.kind == kindCategory && (v != math.Trunc(v) || v < float64(c.lo) || v > float64(c.hi)) {
		return 0, false, &ParseError{Field: c.name,
			Expected: fmt.Sprintf("an integer from %d to %d", c.lo, c.hi), Err: ErrOutOfRange}
	}
	return v, false, nil
}

// leadingSpace returns the number of leading white-space bytes of s.
func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
}
