package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// URIScheme is the scheme of identity URIs: confed://<federation>/<role>/<name>.
const URIScheme = "confed"

// Role is what a peer does in a federation.
type Role string

// The roles of a federation.
const (
	RoleCoordinator Role = "coordinator"
	RoleAggregator  Role = "aggregator"
	RoleParticipant Role = "participant"
	RoleOperator    Role = "operator"
)

// Roles lists every known role.
func Roles() []Role {
	return []Role{RoleCoordinator, RoleAggregator, RoleParticipant, RoleOperator}
}

// Validate reports whether r is a known role.
func (r Role) Validate() error {
	for _, known := range Roles() {
		if r == known {
			return nil
		}
	}
	return fmt.Errorf("unknown role %q (want one of %s)", string(r), rolesString(Roles()))
}

// Identity names a peer: its federation, its role and its name.
type Identity struct {
	Federation string
	Role       Role
	Name       string
}

// String returns "<role>/<name>@<federation>", e.g. "participant/hospital-a@heart".
func (id Identity) String() string {
	return string(id.Role) + "/" + id.Name + "@" + id.Federation
}

// URI returns confed://<federation>/<role>/<name>.
func (id Identity) URI() *url.URL {
	return &url.URL{Scheme: URIScheme, Host: id.Federation, Path: "/" + string(id.Role) + "/" + id.Name}
}

// Validate checks that the federation and the name are valid names
// ([a-z0-9][a-z0-9-]{0,62}) and that the role is known.
func (id Identity) Validate() error {
	if err := ValidateName(id.Federation); err != nil {
		return fmt.Errorf("identity: federation: %w", err)
	}
	if err := id.Role.Validate(); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := ValidateName(id.Name); err != nil {
		return fmt.Errorf("identity: name: %w", err)
	}
	return nil
}

// ValidateName checks a federation or peer name: 1 to 63 characters from
// [a-z0-9-], not starting with a hyphen.
func ValidateName(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if len(s) > 63 {
		return fmt.Errorf("name %q is longer than 63 characters", s)
	}
	if s[0] == '-' {
		return fmt.Errorf("name %q starts with a hyphen", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("name %q has invalid character %q (want [a-z0-9-])", s, c)
		}
	}
	return nil
}

// ParseIdentityURI parses confed://<federation>/<role>/<name>. Only the
// canonical form is accepted: no user info, port, query, fragment or extra
// path segments.
func ParseIdentityURI(u *url.URL) (Identity, error) {
	if u == nil {
		return Identity{}, errors.New("identity uri: nil")
	}
	if u.Scheme != URIScheme {
		return Identity{}, fmt.Errorf("identity uri %q: scheme is not %s", u.String(), URIScheme)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 2 {
		return Identity{}, fmt.Errorf("identity uri %q: path is not /<role>/<name>", u.String())
	}
	id := Identity{Federation: u.Host, Role: Role(parts[0]), Name: parts[1]}
	if err := id.Validate(); err != nil {
		return Identity{}, fmt.Errorf("identity uri %q: %w", u.String(), err)
	}
	if got := id.URI().String(); got != u.String() {
		return Identity{}, fmt.Errorf("identity uri %q: not canonical (want %q)", u.String(), got)
	}
	return id, nil
}

// IdentityFromCert returns the identity named by c's single confed:// URI
// SAN. It fails if c is a CA certificate or has zero or several confed URIs.
func IdentityFromCert(c *x509.Certificate) (Identity, error) {
	if c == nil {
		return Identity{}, errors.New("pki: identity: nil certificate")
	}
	if c.IsCA {
		return Identity{}, fmt.Errorf("pki: certificate %q is a CA certificate, not an identity", c.Subject.CommonName)
	}
	var found []*url.URL
	for _, u := range c.URIs {
		if strings.EqualFold(u.Scheme, URIScheme) {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		return Identity{}, fmt.Errorf("pki: certificate %q has %d %s:// URIs, want exactly 1",
			c.Subject.CommonName, len(found), URIScheme)
	}
	id, err := ParseIdentityURI(found[0])
	if err != nil {
		return Identity{}, fmt.Errorf("pki: certificate %q: %w", c.Subject.CommonName, err)
	}
	return id, nil
}

func rolesString(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
