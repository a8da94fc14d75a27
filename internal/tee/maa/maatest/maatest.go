// Package maatest is a fake Azure Attestation provider: an RSA signing key
// published as a JWKS (with a self-signed x5c certificate, as MAA's /certs
// serves it) and genuinely RS256-signed tokens, for tests.
package maatest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"time"
)

// Issuer is the fake provider's URL.
const Issuer = "https://confedtest.eus.attest.azure.net"

// Provider signs tokens.
type Provider struct {
	Kid  string
	key  *rsa.PrivateKey
	cert []byte
}

// New makes a provider with a key of bits bits.
func New(bits int) (*Provider, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: Issuer},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &Provider{Kid: base64.StdEncoding.EncodeToString(sum[:]), key: key, cert: der}, nil
}

// JWKS is the provider's key set in MAA's /certs form (x5c only).
func (p *Provider) JWKS() []byte {
	b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": p.Kid, "x5c": []string{base64.StdEncoding.EncodeToString(p.cert)}}}})
	return b
}

// Token signs claims as an RS256 JWT.
func (p *Provider) Token(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "jku": Issuer + "/certs", "kid": p.Kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc(h) + "." + enc(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + enc(sig)
}

// SGXClaims are the claims of a token for an SGX enclave whose
// enclave-held data is ehd, issued at iat.
func SGXClaims(ehd []byte, iat time.Time, mrenclave, mrsigner string) map[string]any {
	sum := sha256.Sum256(ehd)
	rd := make([]byte, 64)
	copy(rd, sum[:])
	return map[string]any{
		"iss": Issuer, "iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(8 * time.Hour).Unix(),
		"x-ms-attestation-type": "sgx", "x-ms-sgx-is-debuggable": false,
		"x-ms-sgx-mrenclave": mrenclave, "x-ms-sgx-mrsigner": mrsigner,
		"x-ms-sgx-product-id": 1, "x-ms-sgx-svn": 3,
		"x-ms-sgx-ehd":         base64.RawURLEncoding.EncodeToString(ehd),
		"x-ms-sgx-report-data": hexs(rd),
	}
}

// SNPClaims are the claims of an Azure CVM token (azurevm with an SEV-SNP
// isolation TEE) whose REPORT_DATA is reportData.
func SNPClaims(reportData []byte, iat time.Time, measurement string) map[string]any {
	return map[string]any{
		"iss": Issuer, "iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(8 * time.Hour).Unix(),
		"x-ms-attestation-type": "azurevm",
		"x-ms-isolation-tee": map[string]any{
			"x-ms-attestation-type":           "sevsnpvm",
			"x-ms-compliance-status":          "azure-compliant-cvm",
			"x-ms-sevsnpvm-is-debuggable":     false,
			"x-ms-sevsnpvm-launchmeasurement": measurement,
			"x-ms-sevsnpvm-guestsvn":          7,
			"x-ms-sevsnpvm-reportdata":        hexs(reportData),
			"x-ms-runtime":                    map[string]any{"confed-report-data": hexs(reportData)},
		},
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
