package pki

import (
	"net/url"
	"testing"
)

// FuzzParseIdentityURI parses identity URIs as they come from a peer's
// certificate: no panic, and whatever parses is a valid identity whose own
// URI parses back to it.
func FuzzParseIdentityURI(f *testing.F) {
	for _, s := range []string{
		"confed://reliability/participant/h000",
		"confed://fed/aggregator/aggregator",
		"confed://fed/operator/op%2F1",
		"confed://fed/participant/",
		"https://fed/participant/x",
		"confed:///participant/x",
		"confed://fed/king/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		id, err := ParseIdentityURI(u)
		if err != nil {
			return
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid identity %+v: %v", s, id, err)
		}
		again, err := ParseIdentityURI(id.URI())
		if err != nil || again != id {
			t.Fatalf("%q: identity %+v does not round-trip through %s: %+v, %v", s, id, id.URI(), again, err)
		}
	})
}
