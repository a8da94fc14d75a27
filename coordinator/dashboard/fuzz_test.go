package dashboard

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a login form posts as next, the redirect stays on
// this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/rounds/3", "//evil.example", "/\\evil", "https://evil.example/", "/a\r\nSet-Cookie: x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the site", next, got)
		}
	})
}

// FuzzAuthenticateHeader: no Authorization header or cookie other than the
// token itself gets in.
func FuzzAuthenticateHeader(f *testing.F) {
	for _, s := range []string{"Bearer " + testToken, "bearer x", "Basic " + testToken, "Bearer", "", "Bearer  " + testToken + " "} {
		f.Add(s, "")
	}
	f.Add("", testToken)
	s := &Server{token: TokenFromSecret(testToken), federation: testFederation}
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		r, err := http.NewRequest(http.MethodGet, "https://dash.example/api/overview", nil)
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Authorization", authorization)
		r.Header.Set("Cookie", cookieName+"="+cookie)
		_, err = s.authenticate(r)
		if err != nil {
			return
		}
		secret, ok := bearer(r)
		if !ok {
			if c, cerr := r.Cookie(cookieName); cerr == nil {
				secret = c.Value
			}
		}
		if secret != testToken {
			t.Fatalf("authorization %q, cookie %q let in with secret %q", authorization, cookie, secret)
		}
	})
}
