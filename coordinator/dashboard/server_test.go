package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/confed/confed/internal/pki"
)

func get(t *testing.T, c *http.Client, u string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestAPIAccess: the API answers an operator certificate, the token as a
// bearer header or cookie, and refuses everything else: no credential and a
// wrong token with 401, a certificate of another role with 403 even when the
// right token comes with it.
func TestAPIAccess(t *testing.T) {
	p := newTestPKI(t, testFederation)
	op := p.issue(t, pki.RoleOperator, "alice")
	part := p.issue(t, pki.RoleParticipant, "cleveland")
	agg := p.issue(t, pki.RoleAggregator, "aggregator")
	srv := startServer(t, p, newFakeSource(), TokenFromSecret(testToken))
	tests := []struct {
		name   string
		cert   *pki.Files
		header map[string]string
		want   int
	}{
		{"no credential", nil, nil, http.StatusUnauthorized},
		{"wrong bearer token", nil, map[string]string{"Authorization": "Bearer not-the-token"}, http.StatusUnauthorized},
		{"empty bearer token", nil, map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized},
		{"token as basic auth", nil, map[string]string{"Authorization": "Basic " + testToken}, http.StatusUnauthorized},
		{"wrong cookie", nil, map[string]string{"Cookie": cookieName + "=nope"}, http.StatusUnauthorized},
		{"cookie of another name", nil, map[string]string{"Cookie": "session=" + testToken}, http.StatusUnauthorized},
		{"bearer token", nil, map[string]string{"Authorization": "Bearer " + testToken}, http.StatusOK},
		{"cookie", nil, map[string]string{"Cookie": cookieName + "=" + testToken}, http.StatusOK},
		{"operator certificate", &op, nil, http.StatusOK},
		{"participant certificate", &part, nil, http.StatusForbidden},
		{"participant certificate with the token", &part, map[string]string{"Authorization": "Bearer " + testToken}, http.StatusForbidden},
		{"aggregator certificate", &agg, nil, http.StatusForbidden},
	}
	for _, path := range []string{"/api/overview", "/api/rounds", "/api/rounds/1", "/api/ledger/verify", "/api/nothing-here"} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				want := tt.want
				if path == "/api/nothing-here" && want == http.StatusOK {
					want = http.StatusNotFound
				}
				resp := get(t, client(t, p, tt.cert), srv.URL+path, tt.header)
				if resp.StatusCode != want {
					body, _ := io.ReadAll(resp.Body)
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
				}
				if want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var body map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
					t.Fatalf("body is not JSON: %v", err)
				}
				if want != http.StatusOK && body["error"] == nil {
					t.Errorf("refusal without an error message: %v", body)
				}
			})
		}
	}
}

// TestForeignCertificateFailsHandshake: a client certificate of another
// federation's CA does not get through TLS at all.
func TestForeignCertificateFailsHandshake(t *testing.T) {
	p := newTestPKI(t, testFederation)
	other := newTestPKI(t, "other")
	foreign := other.issue(t, pki.RoleOperator, "mallory")
	srv := startServer(t, p, newFakeSource(), TokenFromSecret(testToken))
	resp, err := client(t, p, &foreign).Get(srv.URL + "/api/overview")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request with another federation's certificate got status %d, want a failed handshake", resp.StatusCode)
	}
}

func TestPagesRedirectToLogin(t *testing.T) {
	p := newTestPKI(t, testFederation)
	srv := startServer(t, p, newFakeSource(), TokenFromSecret(testToken))
	c := client(t, p, nil)
	for path, next := range map[string]string{"/": "/", "/rounds/3": "/rounds/3"} {
		resp := get(t, c, srv.URL+path, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d, want 303", path, resp.StatusCode)
		}
		if want := "/login?next=" + url.QueryEscape(next); resp.Header.Get("Location") != want {
			t.Errorf("%s: Location %q, want %q", path, resp.Header.Get("Location"), want)
		}
	}
	resp := get(t, c, srv.URL+"/", map[string]string{"Authorization": "Bearer " + testToken})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-page="overview"`) {
		t.Errorf("with the token: status %d, body %.100q", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	// With no-referrer, browsers send "Origin: null" on the login form.
	if rp := resp.Header.Get("Referrer-Policy"); rp != "same-origin" {
		t.Errorf("Referrer-Policy %q, want same-origin", rp)
	}
	part := p.issue(t, pki.RoleParticipant, "cleveland")
	if resp := get(t, client(t, p, &part), srv.URL+"/", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("participant certificate on a page: status %d, want 403", resp.StatusCode)
	}
	// Static files are code, not data: the login page needs them.
	resp = get(t, c, srv.URL+"/static/app.js", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("/static/app.js: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestLogin: the form must come from the dashboard's origin and carry the
// token; the cookie it sets is HttpOnly, Secure, SameSite=Strict and opens
// the API; next cannot point off the site.
func TestLogin(t *testing.T) {
	p := newTestPKI(t, testFederation)
	srv := startServer(t, p, newFakeSource(), TokenFromSecret(testToken))
	c := client(t, p, nil)
	self := srv.URL // https://127.0.0.1:port
	good := url.Values{"token": {testToken}, "next": {"/rounds/1"}}
	tests := []struct {
		name   string
		form   url.Values
		origin string
		want   int
	}{
		{"no Origin", good, "", http.StatusForbidden},
		{"cross-site Origin", good, "https://evil.example", http.StatusForbidden},
		{"plain-http Origin", good, strings.Replace(self, "https://", "http://", 1), http.StatusForbidden},
		{"wrong token", url.Values{"token": {"guess"}}, self, http.StatusUnauthorized},
		{"empty token", url.Values{}, self, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := postForm(t, c, srv.URL+"/login", tt.form, tt.origin)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("refused login set cookies %v", resp.Cookies())
			}
			if tt.want == http.StatusUnauthorized {
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), "That is not the operator token.") || !strings.Contains(string(body), `aria-invalid="true"`) {
					t.Errorf("refused login page does not say why: %s", body)
				}
			}
		})
	}
	resp := postForm(t, c, srv.URL+"/login", good, self)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/rounds/1" {
		t.Fatalf("login: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	ck := cookies[0]
	if ck.Name != cookieName || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Errorf("cookie %+v, want %s HttpOnly Secure SameSite=Strict Path=/", ck, cookieName)
	}
	if r := get(t, c, srv.URL+"/api/overview", map[string]string{"Cookie": ck.Name + "=" + ck.Value}); r.StatusCode != http.StatusOK {
		t.Errorf("API with the login cookie: status %d", r.StatusCode)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "rounds"} {
		resp := postForm(t, c, srv.URL+"/login", url.Values{"token": {testToken}, "next": {next}}, self)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q: redirected to %q, want /", next, loc)
		}
	}
	resp = postForm(t, c, srv.URL+"/logout", nil, "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: status %d", resp.StatusCode)
	}
	resp = postForm(t, c, srv.URL+"/logout", nil, self)
	if len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %v", resp.Cookies())
	}
}

// TestLoginWithoutToken: with no token configured only certificates work;
// the login form accepts nothing.
func TestLoginWithoutToken(t *testing.T) {
	p := newTestPKI(t, testFederation)
	srv := startServer(t, p, newFakeSource(), Token{})
	c := client(t, p, nil)
	for _, secret := range []string{"", "anything"} {
		resp := postForm(t, c, srv.URL+"/login", url.Values{"token": {secret}}, srv.URL)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", secret, resp.StatusCode)
		}
		if r := get(t, c, srv.URL+"/api/overview", map[string]string{"Authorization": "Bearer " + secret}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("bearer %q: status %d, want 401", secret, r.StatusCode)
		}
	}
}

func TestAPIData(t *testing.T) {
	p := newTestPKI(t, testFederation)
	op := p.issue(t, pki.RoleOperator, "alice")
	srv := startServer(t, p, newFakeSource(), Token{})
	c := client(t, p, &op)
	tests := []struct {
		path string
		want int
		key  string // a key the JSON must have
	}{
		{"/api/overview", http.StatusOK, "secure_aggregation"},
		{"/api/rounds", http.StatusOK, "rounds"},
		{"/api/rounds/1", http.StatusOK, "submissions"},
		{"/api/rounds/2", http.StatusNotFound, "error"},
		{"/api/rounds/x", http.StatusBadRequest, "error"},
		{"/api/rounds/-1", http.StatusBadRequest, "error"},
		{"/api/ledger/verify", http.StatusOK, "ok"},
	}
	for _, tt := range tests {
		resp := get(t, c, srv.URL+tt.path, nil)
		var body map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if resp.StatusCode != tt.want || body[tt.key] == nil {
			t.Errorf("%s: status %d (want %d), keys %v (want %q)", tt.path, resp.StatusCode, tt.want, keys(body), tt.key)
		}
	}
	var ov map[string]json.RawMessage
	json.NewDecoder(get(t, c, srv.URL+"/api/overview", nil).Body).Decode(&ov)
	for _, k := range []string{"secure_aggregation", "privacy"} {
		if string(ov[k]) != "null" {
			t.Errorf("%s = %s, want null (off) when not configured", k, ov[k])
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/overview", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/overview: status %d, want 405", resp.StatusCode)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEvents: the event stream sends a change at once and one per
// federation change, and ends when the coordinator shuts down.
func TestEvents(t *testing.T) {
	p := newTestPKI(t, testFederation)
	src := newFakeSource()
	srv := startServer(t, p, src, TokenFromSecret(testToken))
	if r := get(t, client(t, p, nil), srv.URL+"/api/events", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events without a credential: status %d, want 401", r.StatusCode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client(t, p, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "event: ") {
				return l
			}
		}
		return ""
	}
	if ev := next(); ev != "event: change" {
		t.Fatalf("first event %q", ev)
	}
	src.changed <- struct{}{}
	if ev := next(); ev != "event: change" {
		t.Fatalf("event after a change %q", ev)
	}
	close(src.done)
	if ev := next(); ev != "" {
		t.Fatalf("stream goes on after shutdown: %q", ev)
	}
}

func TestBackup(t *testing.T) {
	p := newTestPKI(t, testFederation)
	part := p.issue(t, pki.RoleParticipant, "cleveland")
	srv := startServer(t, p, newFakeSource(), TokenFromSecret(testToken))
	if r := get(t, client(t, p, nil), srv.URL+"/api/backup", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("backup without a credential: status %d, want 401", r.StatusCode)
	}
	if r := get(t, client(t, p, &part), srv.URL+"/api/backup", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("backup with a participant certificate: status %d, want 403", r.StatusCode)
	}
	resp := get(t, client(t, p, nil), srv.URL+"/api/backup", map[string]string{"Authorization": "Bearer " + testToken})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "backup bytes" {
		t.Fatalf("backup: status %d, body %q", resp.StatusCode, body)
	}
	if resp.ContentLength != int64(len("backup bytes")) {
		t.Errorf("Content-Length %d", resp.ContentLength)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="confed-dash-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
}
