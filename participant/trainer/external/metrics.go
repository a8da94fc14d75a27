package external

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// Limits of metrics.json.
const (
	MaxMetricsBytes = 64 << 10
	MaxExtraMetrics = 32
)

// Metrics is what the trainer reports in metrics.json.
type Metrics struct {
	// NumExamples is the number of training examples used: the weight of
	// this update in federated averaging. 1 to Job.MaxExamples.
	NumExamples uint64
	// Loss is the mean training loss of the last local epoch (finite, ≥ 0).
	Loss float64
	// Accuracy is the local model's accuracy on the examples it trained on
	// (0 to 1).
	Accuracy float64
	// Extra holds optional further metrics, name → finite number.
	Extra map[string]float64
}

var extraName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// ReadMetrics reads and validates the trainer's metrics file (see
// DecodeMetrics). Errors are *Error naming metrics.json.
func ReadMetrics(path string, maxExamples uint64) (Metrics, error) {
	b, err := readOutputFile(path, MaxMetricsBytes)
	if err != nil {
		return Metrics{}, fail(MetricsFile, err)
	}
	return DecodeMetrics(b, maxExamples)
}

// DecodeMetrics parses metrics.json strictly: one JSON object with the
// keys num_examples (an integer from 1 to maxExamples), loss (a finite
// number ≥ 0), accuracy (a number from 0 to 1) and optionally extra (an
// object of at most MaxExtraMetrics names matching [a-z][a-z0-9_]{0,47}
// to finite numbers). Unknown or duplicate keys, other types, NaN or
// Infinity and anything after the object are refused. Errors are *Error
// naming metrics.json and saying what was expected.
func DecodeMetrics(b []byte, maxExamples uint64) (Metrics, error) {
	m, err := decodeMetrics(b, maxExamples)
	if err != nil {
		return Metrics{}, fail(MetricsFile, err)
	}
	return m, nil
}

func decodeMetrics(b []byte, maxExamples uint64) (Metrics, error) {
	if len(b) > MaxMetricsBytes {
		return Metrics{}, fmt.Errorf("%d bytes, over the limit of %d", len(b), MaxMetricsBytes)
	}
	if !utf8.Valid(b) {
		return Metrics{}, errors.New("not valid UTF-8")
	}
	if !json.Valid(b) {
		return Metrics{}, errors.New(`not valid JSON (NaN and Infinity are not JSON): expected an object such as {"num_examples": 200, "loss": 0.45, "accuracy": 0.8}`)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m Metrics
	seen := map[string]bool{}
	err := object(dec, "the metrics", func(key string) error {
		var err error
		switch key {
		case "num_examples":
			m.NumExamples, err = count(dec, key, maxExamples)
		case "loss":
			m.Loss, err = number(dec, key, 0, math.Inf(1))
		case "accuracy":
			m.Accuracy, err = number(dec, key, 0, 1)
		case "extra":
			m.Extra, err = extra(dec)
		default:
			return fmt.Errorf("unknown key %q: expected num_examples, loss, accuracy and optionally extra", key)
		}
		seen[key] = true
		return err
	})
	if err != nil {
		return Metrics{}, err
	}
	for _, k := range []string{"num_examples", "loss", "accuracy"} {
		if !seen[k] {
			return Metrics{}, fmt.Errorf("%s is missing: expected num_examples, loss and accuracy", k)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Metrics{}, errors.New("data after the metrics object: expected exactly one JSON object")
	}
	return m, nil
}

// object reads a JSON object whose keys field handles, refusing duplicates.
func object(dec *json.Decoder, what string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s must be a JSON object, got %s", what, describe(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // json.Valid: object keys are strings
		if seen[key] {
			return fmt.Errorf("duplicate key %q in %s", key, what)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

// numberToken reads the value of key, which must be a JSON number.
func numberToken(dec *json.Decoder, key string) (json.Number, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	n, ok := tok.(json.Number)
	if !ok {
		return "", fmt.Errorf("%s must be a number, got %s", key, describe(tok))
	}
	return n, nil
}

// count reads an integer from 1 to max.
func count(dec *json.Decoder, key string, max uint64) (uint64, error) {
	n, err := numberToken(dec, key)
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseUint(n.String(), 10, 64)
	if perr != nil || v < 1 || v > max {
		return 0, fmt.Errorf("%s must be an integer from 1 to %d (the training examples of this participant), got %s", key, max, clip(n.String()))
	}
	return v, nil
}

// number reads a finite number in [lo, hi].
func number(dec *json.Decoder, key string, lo, hi float64) (float64, error) {
	n, err := numberToken(dec, key)
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseFloat(n.String(), 64)
	if math.IsInf(v, 0) || perr != nil && !errors.Is(perr, strconv.ErrRange) { // underflow to 0 is fine
		return 0, fmt.Errorf("%s must be a finite number, got %s", key, clip(n.String()))
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s must be from %v to %v, got %v", key, lo, hi, v)
	}
	return v, nil
}

// extra reads the extra object.
func extra(dec *json.Decoder) (map[string]float64, error) {
	out := map[string]float64{}
	err := object(dec, "extra", func(key string) error {
		if !extraName.MatchString(key) {
			return fmt.Errorf("extra metric name %s: expected lower-case letters, digits and _, starting with a letter, at most 48 bytes", clip(key))
		}
		if len(out) == MaxExtraMetrics {
			return fmt.Errorf("extra: at most %d metrics", MaxExtraMetrics)
		}
		v, err := number(dec, "extra."+key, math.Inf(-1), math.Inf(1))
		out[key] = v
		return err
	})
	return out, err
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// clip quotes what the trainer wrote, shortened, for a message.
func clip(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "…"
	}
	return strconv.Quote(s)
}
