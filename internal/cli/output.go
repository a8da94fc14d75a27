package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Output formats. Every command that prints a result takes --format text
// (for people, the default) or --format json (for programs). -o and
// --output name an output file (model get), never a format.
const (
	formatText = "text"
	formatJSON = "json"
)

// addFormat registers --format on fs and returns the chosen format.
func addFormat(fs *flag.FlagSet) *string {
	format := formatText
	fs.Func("format", "output `text|json` (default text)", func(v string) error {
		if v != formatText && v != formatJSON {
			return fmt.Errorf("want text or json, got %q", v)
		}
		format = v
		return nil
	})
	return &format
}

// refuseFormatO registers -o on a command without an output file, so that
// the old "-o json" fails with a message saying what to use instead.
func refuseFormatO(fs *flag.FlagSet) {
	fs.Func("o", "not an output format: use --format json (-o names an output `file` where a command writes one)", func(string) error {
		return errors.New("-o names an output file in confed; for JSON output use --format json")
	})
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeProtoJSON writes m in the proto3 JSON mapping with the field names
// of the .proto file, unset fields included, and every *_sha256 field as
// lowercase hex instead of base64, indented the same way on every build
// (protojson's own whitespace is deliberately unstable).
func writeProtoJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	hexHashes(v)
	return writeJSON(w, v)
}

// hexHashes rewrites, in place, base64 values of keys ending in "sha256".
func hexHashes(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && strings.HasSuffix(k, "sha256") {
				if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
					v[k] = hex.EncodeToString(raw)
				}
				continue
			}
			hexHashes(e)
		}
	case []any:
		for _, e := range v {
			hexHashes(e)
		}
	}
}
