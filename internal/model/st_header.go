package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"unicode/utf8"
)

const (
	prefixLen = 8 // little-endian uint64 header length
	f32Size   = 4
)

// Dtype is a safetensors element type. Models are F32; U32 and U64 carry
// fixed-point ring elements (package fixedpoint), little-endian.
type Dtype string

// The dtypes confed reads and writes.
const (
	F32 Dtype = "F32"
	U32 Dtype = "U32"
	U64 Dtype = "U64"
)

// Size returns the bytes per element, or 0 for a dtype confed does not use.
func (d Dtype) Size() int {
	switch d {
	case F32, U32:
		return 4
	case U64:
		return 8
	}
	return 0
}

// canonicalHeader returns the canonical JSON header for spec, padded with
// spaces to a multiple of 8 bytes: keys sorted bytewise (tensor names and
// "__metadata__" alike, and within each entry), F32, offsets contiguous in
// spec order, no insignificant whitespace. spec must be valid.
func canonicalHeader(spec Spec) []byte { return canonicalHeaderOf(spec, F32) }

// canonicalHeaderOf is canonicalHeader with every tensor of the given dtype.
func canonicalHeaderOf(spec Spec, dtype Dtype) []byte {
	type key struct {
		name string
		idx  int // index into spec, -1 for metadata
	}
	keys := make([]key, 0, len(spec)+1)
	offsets := make([]int64, len(spec)+1)
	for i, t := range spec {
		keys = append(keys, key{t.Name, i})
		offsets[i+1] = offsets[i] + int64(shapeElems(t.Shape))*int64(dtype.Size())
	}
	keys = append(keys, key{metadataKey, -1})
	slices.SortFunc(keys, func(a, b key) int { return bytes.Compare([]byte(a.name), []byte(b.name)) })

	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k.name)
		b.WriteByte(':')
		if k.idx < 0 {
			b.WriteString(`{"format":"pt"}`)
			continue
		}
		fmt.Fprintf(&b, `{"data_offsets":[%d,%d],"dtype":"%s","shape":[`, offsets[k.idx], offsets[k.idx+1], dtype)
		for j, d := range spec[k.idx].Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString("]}")
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // cannot fail for a string; writes a trailing newline
	b.Truncate(b.Len() - 1)
}

// entry is one tensor as declared by a header.
type entry struct {
	name       string
	shape      []int
	begin, end int64 // byte offsets into the data section
}

// parseHeader parses a safetensors JSON header strictly: UTF-8, one JSON
// object, no duplicate keys, tensor entries with exactly dtype/shape/
// data_offsets, dtype F32, non-negative integer shapes and offsets,
// optionally padded with trailing whitespace. Metadata is checked for form
// (string → string) and dropped. Layout is checked by checkLayout.
func parseHeader(hdr []byte, want Dtype) ([]entry, error) {
	if !utf8.Valid(hdr) {
		return nil, fmt.Errorf("%w: header is not valid UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	var entries []entry
	seen := map[string]bool{}
	for dec.More() {
		name, err := stringToken(dec)
		if err != nil {
			return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: header: duplicate key %q", ErrMalformed, name)
		}
		seen[name] = true
		if name == metadataKey {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fmt.Errorf("%w: header: __metadata__ must map strings to strings: %w", ErrMalformed, err)
			}
			continue
		}
		e, err := parseEntry(dec, name, want)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: header: data after the JSON object", ErrMalformed)
	}
	return entries, nil
}

// parseEntry parses {"dtype":…,"shape":[…],"data_offsets":[b,e]} for name.
func parseEntry(dec *json.Decoder, name string, want Dtype) (entry, error) {
	e := entry{name: name}
	bad := func(format string, args ...any) (entry, error) {
		return entry{}, fmt.Errorf("%w: tensor %q: %s", ErrMalformed, name, fmt.Sprintf(format, args...))
	}
	if err := expectDelim(dec, '{'); err != nil {
		return bad("entry: %v", err)
	}
	var dtype string
	var offsets []int64
	have := map[string]bool{}
	for dec.More() {
		field, err := stringToken(dec)
		if err != nil {
			return bad("entry: %v", err)
		}
		if have[field] {
			return bad("duplicate field %q", field)
		}
		have[field] = true
		switch field {
		case "dtype":
			if dtype, err = stringToken(dec); err != nil {
				return bad("dtype: %v", err)
			}
			if Dtype(dtype) != want {
				return entry{}, fmt.Errorf("tensor %q: dtype %s %w", name, dtype, ErrUnsupportedDtype)
			}
		case "shape":
			dims, err := intArray(dec)
			if err != nil {
				return bad("shape: %v", err)
			}
			e.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > maxElements {
					return bad("shape %v: dimension %d is too large", dims, i)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			if offsets, err = intArray(dec); err != nil {
				return bad("data_offsets: %v", err)
			}
		default:
			return bad("unknown field %q (want dtype, shape, data_offsets)", field)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return bad("entry: %v", err)
	}
	for _, f := range []string{"dtype", "shape", "data_offsets"} {
		if !have[f] {
			return bad("missing field %q", f)
		}
	}
	if len(offsets) != 2 {
		return bad("data_offsets has %d values, want [begin, end]", len(offsets))
	}
	e.begin, e.end = offsets[0], offsets[1]
	return e, nil
}

// token is dec.Token with a clearer error for JSON that ends early.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("unexpected end of JSON")
	}
	return tok, err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := token(dec)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("got %v, want %q", tok, string(want))
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := token(dec)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("got %v, want a string", tok)
	}
	return s, nil
}

// intArray parses a JSON array of non-negative integers that fit an int64.
func intArray(dec *json.Decoder) ([]int64, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var out []int64
	for dec.More() {
		tok, err := token(dec)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("got %v, want an integer", tok)
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("%s overflows int64", num)
			}
			return nil, fmt.Errorf("%s is not an integer", num)
		}
		if v < 0 {
			return nil, fmt.Errorf("%d is negative", v)
		}
		out = append(out, v)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	if out == nil {
		out = []int64{}
	}
	return out, nil
}
