package dashboard

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/confed/confed/internal/pki"
)

// cookieName is the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, host-only and for the whole site.
const cookieName = "__Host-confed-dashboard"

// Errors of authentication, mapped to 401 and 403.
var (
	errNoCredential = errors.New("no credential: present an operator client certificate or the operator token")
	errBadToken     = errors.New("the operator token is wrong")
	errNotOperator  = errors.New("client certificate does not carry the operator role")
)

// who is the authenticated caller, for the logs.
type who struct {
	by   string // "certificate" or "token"
	name string
}

// authenticate checks the request's credential: a verified client
// certificate of our federation with the operator role, or the token as a
// bearer header or cookie. A client certificate of another role is refused
// even if a token comes with it.
func (s *Server) authenticate(r *http.Request) (who, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return s.certIdentity(r.TLS)
	}
	secret, ok := bearer(r)
	if !ok {
		c, err := r.Cookie(cookieName)
		if err != nil {
			return who{}, errNoCredential
		}
		secret = c.Value
	}
	if !s.token.Matches(secret) {
		return who{}, errBadToken
	}
	return who{by: "token", name: "operator-token"}, nil
}

func (s *Server) certIdentity(cs *tls.ConnectionState) (who, error) {
	if len(cs.VerifiedChains) == 0 {
		return who{}, errors.New("client certificate was not verified against the federation CA")
	}
	id, err := pki.IdentityFromCert(cs.PeerCertificates[0])
	if err != nil {
		return who{}, err
	}
	if id.Federation != s.federation {
		return who{}, fmt.Errorf("client certificate is of federation %q, not %q", id.Federation, s.federation)
	}
	if id.Role != pki.RoleOperator {
		return who{}, fmt.Errorf("%w: %s", errNotOperator, id)
	}
	return who{by: "certificate", name: id.String()}, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// sameOrigin reports whether a state-changing request comes from the
// dashboard's own pages: its Origin header must be present and name this
// very host over https.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o != "" && o == "https://"+r.Host
}

// sessionCookie carries the token to later requests. It is HttpOnly (no
// script reads it), Secure and SameSite=Strict (no other site's page sends
// it).
func sessionCookie(secret string) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: secret, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode}
}

func clearedCookie() *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode}
}

// TLSConfig is the dashboard's TLS: the coordinator's certificate, TLS 1.3,
// and a client certificate optional (browsers log in with the token) but
// verified against the federation CA when given.
func TLSConfig(f pki.Files) (*tls.Config, error) {
	cfg, err := pki.ServerTLS(f)
	if err != nil {
		return nil, err
	}
	check := cfg.VerifyConnection
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil
		}
		return check(cs)
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return cfg, nil
}
