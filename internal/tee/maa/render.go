package maa

import (
	"encoding/json"
	"fmt"
	"time"
)

// render shows a claim value: strings as they are, numbers and booleans in
// JSON, objects as compact JSON.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// IssuedAt returns a token's iat (or nbf) time without verifying anything,
// for telling an auditor when to check an archived token.
func IssuedAt(raw []byte) (time.Time, bool) {
	t, err := ParseToken(raw)
	if err != nil {
		return time.Time{}, false
	}
	for _, k := range []string{"iat", "nbf"} {
		if ts, err := claimSet(t.Claims).time(k); err == nil {
			return ts, true
		}
	}
	return time.Time{}, false
}
