package heartdisease

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	// A Cleveland-style record: cp=1, restecg=2, num=0.
	lineA = "63,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0"
	// A Hungary-style record with slope, ca and thal missing: cp=4, restecg=1, num=3.
	lineB = "54,0,4,130,250,0,1,110,1,.5,?,?,?,3"
)

var (
	featA = []float64{63, 1, 0, 0, 0, 145, 233, 1, 0, 1, 150, 0, 2.3}
	featB = []float64{54, 0, 0, 0, 1, 130, 250, 0, 1, 0, 110, 1, 0.5}
)

func TestParseGood(t *testing.T) {
	tests := []struct {
		name  string
		input string
		wantX [][]float64
		wantY []float64
		want  Stats
	}{
		{"empty", "", nil, nil, Stats{}},
		{"one record", lineA + "\n", [][]float64{featA}, []float64{0}, Stats{RowsRead: 1}},
		{"no final newline", lineA, [][]float64{featA}, []float64{0}, Stats{RowsRead: 1}},
		{"dropped columns missing", lineB + "\n", [][]float64{featB}, []float64{1}, Stats{RowsRead: 1}},
		{"crlf, blank lines, spaces, BOM", "\ufeff" + lineA + "\r\n\r\n  \n 54, 0,4,130,250,0,1,110,1,.5,?,?,?, 3 \r\n",
			[][]float64{featA, featB}, []float64{0, 1}, Stats{RowsRead: 2}},
		{"missing chol dropped", "29,1,2,140,?,0,0,170,0,0,?,?,?,0\n" + lineB,
			[][]float64{featB}, []float64{1}, Stats{RowsRead: 2, RowsDropped: 1}},
		{"missing label dropped", "54,0,4,130,250,0,1,110,1,.5,?,?,?,?", nil, nil, Stats{RowsRead: 1, RowsDropped: 1}},
		{"negative oldpeak, zero chol", "40,1,3,120,0,?,0,150,0,-1.5,?,?,?,1\n" + lineA,
			[][]float64{featA}, []float64{0}, Stats{RowsRead: 2, RowsDropped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, st, err := Parse("t.data", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(ds.X, tt.wantX) || !reflect.DeepEqual(ds.Y, tt.wantY) {
				t.Errorf("Parse = %v, %v; want %v, %v", ds.X, ds.Y, tt.wantX, tt.wantY)
			}
			if st != tt.want {
				t.Errorf("Stats = %+v, want %+v", st, tt.want)
			}
			if st.RowsKept() != ds.Len() {
				t.Errorf("RowsKept = %d, Len = %d", st.RowsKept(), ds.Len())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantPos  string // file:line:col
		wantErr  error
		wantText string
		secret   string // a value that must not appear in the message
	}{
		{"bad number", lineA + "\n63,1,1,14x5,233,1,2,150,0,2.3,3,0,6,0\n", "t.data:2:8", ErrBadNumber, `column "trestbps"`, "14x5"},
		{"empty field", "63,1,1,,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:8", ErrBadNumber, "a finite number or '?'", ""},
		{"NaN", "63,1,1,NaN,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:8", ErrBadNumber, "finite", "NaN"},
		{"bad number in dropped column", "63,1,1,145,233,1,2,150,0,2.3,abc,0,6,0", "t.data:1:30", ErrBadNumber, `column "slope"`, "abc"},
		{"too few columns", "63,1,1,145,233,1,2,150,0,2.3,3,0,6", "t.data:1:35", ErrColumnCount, "14 comma-separated columns, found 13", ""},
		{"too many columns", "63,1,1,145,233,1,2,150,0,2.3,3,0,6,0,9", "t.data:1:38", ErrColumnCount, "found 15", ""},
		{"cp out of range", "63,1,7,145,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:6", ErrOutOfRange, `column "cp": value out of range: expected an integer from 1 to 4`, ""},
		{"cp not integer", "63,1,2.5,145,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:6", ErrOutOfRange, "integer from 1 to 4", "2.5"},
		{"restecg out of range", "63,1,1,145,233,1,3,150,0,2.3,3,0,6,0", "t.data:1:18", ErrOutOfRange, `"restecg"`, ""},
		{"num out of range", "63,1,1,145,233,1,2,150,0,2.3,3,0,6,5", "t.data:1:36", ErrOutOfRange, `"num"`, ""},
		{"sex not binary", "63,2,1,145,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:4", ErrOutOfRange, "from 0 to 1", ""},
		{"bad category word", "63,1,x,145,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:6", ErrBadNumber, "an integer from 1 to 4 or '?'", ""},
		{"out of range in a row with a missing value", "63,1,9,?,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:6", ErrOutOfRange, `"cp"`, ""},
		{"column after leading space", "63, 1, 9,145,233,1,2,150,0,2.3,3,0,6,0", "t.data:1:8", ErrOutOfRange, `"cp"`, ""},
		{"line too long", strings.Repeat("1", maxLineBytes+1), "t.data:1:1", ErrLineTooLong, "at most", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("t.data", strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantPos+": ") {
				t.Errorf("error %q does not start with %q", msg, tt.wantPos)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", msg, tt.wantErr)
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q does not contain %q", msg, tt.wantText)
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q repeats the input value %q", msg, tt.secret)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	_, _, err := Parse("t.data", failingReader{})
	if err == nil || !strings.Contains(err.Error(), "t.data") || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Parse error = %v, want the read error with the file name", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, _, err := Load("testdata/does-not-exist.data"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestFeatureNames(t *testing.T) {
	if len(FeatureNames) != NumFeatures {
		t.Fatalf("len(FeatureNames) = %d, NumFeatures = %d", len(FeatureNames), NumFeatures)
	}
	seen := map[string]bool{}
	for _, n := range FeatureNames {
		if seen[n] {
			t.Errorf("duplicate feature name %q", n)
		}
		seen[n] = true
	}
}

// dataDir is the repository's copy of the data, relative to this package.
const dataDir = "../../data/heart-disease"

func TestLoadHospitals(t *testing.T) {
	tests := []struct {
		hospital       string
		read, kept     int
		minPos, maxPos int
	}{
		{"cleveland", 303, 303, 139, 139},
		{"hungary", 294, 261, 98, 98},
		{"switzerland", 123, 46, 45, 45},
		{"long-beach-va", 200, 130, 101, 101},
	}
	total := 0
	for _, tt := range tests {
		t.Run(tt.hospital, func(t *testing.T) {
			h, ok := HospitalByName(tt.hospital)
			if !ok {
				t.Fatalf("no hospital %q", tt.hospital)
			}
			ds, st, err := Load(h.Path(dataDir))
			if err != nil {
				t.Fatal(err)
			}
			if st.RowsRead != tt.read || ds.Len() != tt.kept || st.RowsKept() != tt.kept {
				t.Errorf("read %d, kept %d (stats %+v); want read %d, kept %d", st.RowsRead, ds.Len(), st, tt.read, tt.kept)
			}
			if err := ds.Validate(); err != nil {
				t.Error(err)
			}
			if ds.Width() != NumFeatures {
				t.Errorf("width %d, want %d", ds.Width(), NumFeatures)
			}
			pos := 0
			for _, y := range ds.Y {
				pos += int(y)
			}
			if pos < tt.minPos || pos > tt.maxPos {
				t.Errorf("%d positive labels, want %d", pos, tt.minPos)
			}
			total += ds.Len()
		})
	}
	if total != 740 {
		t.Errorf("total rows %d, want 740", total)
	}
	if len(Hospitals) != 4 {
		t.Errorf("len(Hospitals) = %d, want 4", len(Hospitals))
	}
}

func ExampleParse() {
	ds, st, err := Parse("example.data", strings.NewReader(lineA+"\n"+"29,1,2,140,?,0,0,170,0,0,?,?,?,0\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Len(), st.RowsRead, st.RowsDropped)
	_, _, err = Parse("example.data", strings.NewReader("63,1,7,145,233,1,2,150,0,2.3,3,0,6,0\n"))
	fmt.Println(err)
	// Output:
	// 1 2 1
	// example.data:1:6: column "cp": value out of range: expected an integer from 1 to 4
}
