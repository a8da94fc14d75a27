package roundconfig

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary bytes as a round configuration. Parse must not
// panic; a config it accepts must validate, hash its bytes and survive a
// round trip through its canonical encoding; every error must name the file.
func FuzzParse(f *testing.F) {
	f.Add(HeartDiseaseDefault())
	files, err := filepath.Glob("testdata/*/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") && !strings.HasPrefix(line, "... and ") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		if c.SHA256() != sha256.Sum256(data) {
			t.Fatal("SHA256 is not the hash of the parsed bytes")
		}
		back, err := Parse("canonical.yaml", c.Canonical())
		if err != nil {
			t.Fatalf("canonical encoding does not parse: %v\n%s", err, c.Canonical())
		}
		if !reflect.DeepEqual(values(back), values(c)) {
			t.Fatalf("canonical round trip\n got %+v\nwant %+v", values(back), values(c))
		}
	})
}
