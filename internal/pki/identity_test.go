package pki

import (
	"crypto/x509"
	"net/url"
	"strings"
	"testing"
)

func TestIdentityStringAndURI(t *testing.T) {
	id := ident(RoleParticipant, "hospital-a")
	if got, want := id.String(), "participant/hospital-a@heart"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := id.URI().String(), "confed://heart/participant/hospital-a"; got != want {
		t.Errorf("URI() = %q, want %q", got, want)
	}
	back, err := ParseIdentityURI(id.URI())
	if err != nil || back != id {
		t.Errorf("ParseIdentityURI(URI()) = %v, %v; want %v", back, err, id)
	}
}

func TestIdentityValidate(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{"participant", ident(RoleParticipant, "hospital-a"), ""},
		{"all roles: coordinator", ident(RoleCoordinator, "c"), ""},
		{"aggregator", ident(RoleAggregator, "agg-1"), ""},
		{"operator", ident(RoleOperator, "alice"), ""},
		{"digit first", ident(RoleParticipant, "0x"), ""},
		{"63 chars", ident(RoleParticipant, long), ""},
		{"64 chars", ident(RoleParticipant, long+"a"), "longer than 63"},
		{"empty name", ident(RoleParticipant, ""), "name: empty"},
		{"upper case", ident(RoleParticipant, "Hospital"), "invalid character"},
		{"underscore", ident(RoleParticipant, "a_b"), "invalid character"},
		{"slash", ident(RoleParticipant, "a/b"), "invalid character"},
		{"leading hyphen", ident(RoleParticipant, "-a"), "starts with a hyphen"},
		{"unknown role", Identity{Federation: testFed, Role: "admin", Name: "a"}, `unknown role "admin"`},
		{"empty role", Identity{Federation: testFed, Name: "a"}, "unknown role"},
		{"bad federation", Identity{Federation: "Heart", Role: RoleOperator, Name: "a"}, "federation:"},
		{"empty federation", Identity{Role: RoleOperator, Name: "a"}, "federation: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.id.Validate(), tt.want)
		})
	}
}

func TestParseIdentityURI(t *testing.T) {
	tests := []struct {
		uri  string
		want string
	}{
		{"confed://heart/aggregator/agg-1", ""},
		{"https://heart/aggregator/agg-1", "scheme"},
		{"confed://heart/aggregator", "path is not"},
		{"confed://heart/aggregator/agg-1/x", "path is not"},
		{"confed://heart/aggregator/agg-1?x=1", "not canonical"},
		{"confed://heart/aggregator/agg-1#f", "not canonical"},
		{"confed://u@heart/aggregator/agg-1", "not canonical"},
		{"confed://heart:443/aggregator/agg-1", "federation"},
		{"confed://heart/king/agg-1", "unknown role"},
		{"confed:///aggregator/agg-1", "federation: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseIdentityURI(u)
			wantErr(t, err, tt.want)
		})
	}
	if _, err := ParseIdentityURI(nil); err == nil {
		t.Error("ParseIdentityURI(nil): no error")
	}
}

func TestIdentityFromCert(t *testing.T) {
	mk := func(uris ...string) *x509.Certificate {
		c := &x509.Certificate{}
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = append(c.URIs, u)
		}
		return c
	}
	good := "confed://heart/participant/hospital-a"
	ca := mk(good)
	ca.IsCA = true
	tests := []struct {
		name string
		cert *x509.Certificate
		want string
	}{
		{"one uri", mk(good), ""},
		{"other schemes ignored", mk("spiffe://x/y", good), ""},
		{"nil", nil, "nil certificate"},
		{"no uri", mk(), "has 0 confed:// URIs"},
		{"two uris", mk(good, "confed://heart/participant/hospital-b"), "has 2 confed:// URIs"},
		{"upper-case scheme counts", mk(good, "CONFED://heart/participant/x"), "has 2"},
		{"malformed", mk("confed://heart/participant"), "path is not"},
		{"ca certificate", ca, "is a CA certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := IdentityFromCert(tt.cert)
			wantErr(t, err, tt.want)
			if tt.want == "" && id != ident(RoleParticipant, "hospital-a") {
				t.Errorf("identity = %v", id)
			}
		})
	}
}
