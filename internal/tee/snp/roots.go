package snp

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-sev-guest/verify/trust"
)

// defaultRoots are AMD's roots as embedded in go-sev-guest, completed with
// the ASVKs. The library's own defaults (used when TrustedRoots is nil)
// hold only the ARK and the ASK of each product line, so a VLEK-signed
// report could never verify against them; and its parser of the KDS
// cert_chain format refuses the embedded Turin VLEK bundle for its
// trailing newline.
var defaultRoots = sync.OnceValues(func() (map[string][]*trust.AMDRootCerts, error) {
	bundles := []struct {
		line       string
		vcek, vlek []byte
	}{
		{"Milan", trust.AskArkMilanVcekBytes, trust.AskArkMilanVlekBytes},
		{"Genoa", trust.AskArkGenoaVcekBytes, trust.AskArkGenoaVlekBytes},
		{"Turin", trust.AskArkTurinVcekBytes, trust.AskArkTurinVlekBytes},
	}
	roots := map[string][]*trust.AMDRootCerts{}
	for _, b := range bundles {
		ask, ark, err := parseCertChain(b.vcek)
		if err != nil {
			return nil, fmt.Errorf("embedded %s VCEK roots: %v", b.line, err)
		}
		asvk, vlekArk, err := parseCertChain(b.vlek)
		if err != nil {
			return nil, fmt.Errorf("embedded %s VLEK roots: %v", b.line, err)
		}
		if !vlekArk.Equal(ark) {
			return nil, fmt.Errorf("embedded %s VLEK roots: the ARK differs from the VCEK chain's", b.line)
		}
		for _, c := range []struct {
			cert *x509.Certificate
			cn   string
		}{{ark, "ARK-" + b.line}, {ask, "SEV-" + b.line}, {asvk, "SEV-VLEK-" + b.line}} {
			if c.cert.Subject.CommonName != c.cn {
				return nil, fmt.Errorf("embedded %s roots: found %q, want %q", b.line, c.cert.Subject.CommonName, c.cn)
			}
		}
		roots[b.line] = []*trust.AMDRootCerts{{
			ProductLine:  b.line,
			ProductCerts: &trust.ProductCerts{Ark: ark, Ask: ask, Asvk: asvk},
		}}
	}
	return roots, nil
})

// parseCertChain parses AMD's cert_chain format: the intermediate (ASK or
// ASVK), then the ARK, both PEM, surrounding white space allowed.
func parseCertChain(data []byte) (intermediate, ark *x509.Certificate, err error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if strings.TrimSpace(string(rest)) != "" {
				return nil, nil, fmt.Errorf("data after the certificates")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) != 2 {
		return nil, nil, fmt.Errorf("%d certificates, want 2", len(certs))
	}
	return certs[0], certs[1], nil
}
