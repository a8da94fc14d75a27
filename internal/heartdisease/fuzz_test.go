package heartdisease

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a positioned
// *ParseError, and that every dataset it returns satisfies its invariants.
func FuzzParse(f *testing.F) {
	f.Add([]byte(lineA + "\n" + lineB + "\n"))
	f.Add([]byte("29,1,2,140,?,0,0,170,0,0,?,?,?,0\r\n\r\n"))
	f.Add([]byte("63,1,7,145,233,1,2,150,0,2.3,3,0,6,0"))
	f.Add([]byte("63,1,1,1e400,233,1,2,150,0,2.3,3,0,6,0,"))
	f.Add([]byte(",,,,\n?"))
	if b, err := os.ReadFile(Hospitals[2].Path(dataDir)); err == nil {
		f.Add(b[:min(len(b), 400)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, st, err := Parse("fuzz.data", bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 || pe.Expected == "" {
				t.Fatalf("error %v (%T) is not a positioned *ParseError", err, err)
			}
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatal(err)
		}
		if ds.Len() != st.RowsKept() || st.RowsDropped < 0 {
			t.Fatalf("stats %+v, %d examples", st, ds.Len())
		}
		for _, row := range ds.X {
			if len(row) != NumFeatures {
				t.Fatalf("row width %d", len(row))
			}
			for _, j := range []int{2, 3, 4} { // cp one-hot: at most one set
				if row[j] != 0 && row[j] != 1 || row[2]+row[3]+row[4] > 1 {
					t.Fatalf("bad cp indicators %v", row[2:5])
				}
			}
			if math.IsNaN(row[0]) {
				t.Fatal("NaN age")
			}
		}
	})
}
