package yamlcfg

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Short tags of the YAML core schema.
const (
	tagNull   = "!!null"
	tagBool   = "!!bool"
	tagInt    = "!!int"
	tagFloat  = "!!float"
	tagStr    = "!!str"
	tagMerge  = "!!merge"
	tagBinary = "!!binary"
)

// knownTags are the tags a config file may carry, explicitly or resolved.
var knownTags = map[string]bool{
	tagNull: true, tagBool: true, tagInt: true, tagFloat: true, tagStr: true,
	"!!timestamp": true, "!!map": true, "!!seq": true, tagBinary: true, tagMerge: true,
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decoder walks a node tree into a Go value, collecting every error.
type decoder struct {
	loc  *Locator
	errs []error
	// following holds the anchors whose aliases are being decoded, so that
	// an alias inside its own anchor cannot recurse for ever.
	following map[*yaml.Node]bool
}

func (d *decoder) fail(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.loc.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// value decodes n into v. key names v in messages and line is the line of
// the key (or list item) that holds n.
func (d *decoder) value(n *yaml.Node, v reflect.Value, key string, line int) {
	if n.Kind == yaml.AliasNode {
		d.alias(n, v, key, line)
		return
	}
	if tag := n.ShortTag(); !knownTags[tag] {
		d.fail(line, key, "unsupported YAML tag %s: expected %s", quoteValue(tag), want(v.Type()))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(line, key, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, key, line)
	case reflect.Slice:
		d.sequence(n, v, key, line)
	case reflect.Pointer:
		if isNull(n) {
			d.fail(line, key, "expected %s, got %s", want(v.Type()), describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), key, line)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		d.scalar(n, v, key, line)
	default:
		d.errs = append(d.errs, fmt.Errorf("yamlcfg: %s: cannot decode into a field of type %s", key, v.Type()))
	}
}

func (d *decoder) alias(n *yaml.Node, v reflect.Value, key string, line int) {
	target := n.Alias
	if target == nil || d.following[target] {
		d.fail(line, key, "alias *%s refers to a value that contains it", n.Value)
		return
	}
	d.following[target] = true
	defer delete(d.following, target)
	d.value(target, v, key, line)
}

// mapping decodes a YAML mapping into the struct v, key by key.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string, line int) {
	if n.Kind != yaml.MappingNode {
		d.fail(line, key, "expected a mapping of settings, got %s", describe(n))
		return
	}
	fields, names, err := structFields(v.Type())
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.ShortTag() == tagMerge {
			d.fail(k.Line, key, "merge keys (<<) are not supported: write the settings out")
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k.Line, key, "expected a key name, got %s", describe(k))
			continue
		}
		path := joinKey(key, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, path, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k.Line, path, "unknown key (%s)", keyHint(k.Value, names))
			continue
		}
		d.loc.lines[path] = k.Line
		d.value(val, v.Field(idx), path, k.Line)
	}
}

// sequence decodes a YAML list into the slice v, replacing its contents.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, key string, line int) {
	if n.Kind != yaml.SequenceNode {
		d.fail(line, key, "expected %s, got %s", want(v.Type()), describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		d.loc.lines[path] = item.Line
		d.value(item, s.Index(i), path, item.Line)
	}
	v.Set(s)
}

// scalar decodes a YAML scalar into a string, bool, integer or float.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, key string, line int) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(line, key, "expected %s, got %s", want(v.Type()), describe(n))
		return
	}
	tag := n.ShortTag()
	bad := func() { d.fail(line, key, "expected %s, got %s", want(v.Type()), describe(n)) }
	switch v.Kind() {
	case reflect.String:
		if tag == tagBinary {
			bad()
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if tag != tagBool || n.Decode(&b) != nil {
			bad()
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if tag != tagInt || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.badInteger(n, v, key, line)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if tag != tagInt || n.Decode(&u) != nil || v.OverflowUint(u) {
			d.badInteger(n, v, key, line)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch {
		case tag != tagInt && tag != tagFloat || n.Decode(&f) != nil:
			bad()
		case math.IsNaN(f) || math.IsInf(f, 0) || v.OverflowFloat(f):
			d.fail(line, key, "expected a finite number, got %s", describe(n))
		default:
			v.SetFloat(f)
		}
	}
}

// badInteger reports a value that cannot go into the integer field v,
// telling integers that are merely too large (which YAML resolves as
// floats) from values that are no integer at all.
func (d *decoder) badInteger(n *yaml.Node, v reflect.Value, key string, line int) {
	tag := n.ShortTag()
	negative := strings.HasPrefix(n.Value, "-")
	unsigned := v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint64
	if (tag == tagInt || tag == tagFloat && integerText.MatchString(n.Value)) && !(unsigned && negative) {
		d.fail(line, key, "expected %s that fits in %d bits, got %s", want(v.Type()), v.Type().Bits(), describe(n))
		return
	}
	d.fail(line, key, "expected %s, got %s", want(v.Type()), describe(n))
}

var integerText = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// structFields maps the YAML names of t's fields to their indexes; names
// lists them in field order for hints.
func structFields(t reflect.Type) (map[string]int, []string, error) {
	fields := make(map[string]int, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			return nil, nil, fmt.Errorf("yamlcfg: %s.%s: inline fields are not supported", t, f.Name)
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names, nil
}

func joinKey(prefix, name string) string {
	if !plainKey.MatchString(name) {
		name = strconv.Quote(name)
	}
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func keyHint(got string, names []string) string {
	if s := Suggest(got, names); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return "expected one of: " + strings.Join(names, ", ")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull
}

// want describes what a field of type t accepts.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "a mapping of settings"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return "a value of type " + t.String()
}

// describe says what a node is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "an empty value"
	}
	return quoteValue(n.Value)
}

// maxShown bounds how much of a value a message repeats.
const maxShown = 40

// quoteValue quotes s for a message, shortened if it is long.
func quoteValue(s string) string {
	if r := []rune(s); len(r) > maxShown {
		s = string(r[:maxShown]) + "…"
	}
	return strconv.Quote(s)
}
