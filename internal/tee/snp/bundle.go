package snp

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify/trust"
)

// bundle is the content of Collateral.Bundle: AMD certificates and CRLs
// kept locally, for verification without the key server. Nothing in it is
// trusted: the certificates must still chain to the trusted roots, and the
// CRLs must be signed by them.
type bundle struct {
	vceks []*x509.Certificate
	vleks []*x509.Certificate
	arks  []*x509.Certificate
	crls  map[string][]byte // product line → DER
}

// loadBundle reads a PEM bundle. CERTIFICATE blocks are sorted by their
// subject common name (SEV-VCEK, SEV-VLEK, SEV-<line> for an ASK,
// SEV-VLEK-<line> for an ASVK, ARK-<line>); X509 CRL blocks by the product
// line of their issuer (ARK-<line>).
func loadBundle(path string) (*bundle, error) {
	data, err := readLimited(path, maxCollateralSize)
	if err != nil {
		return nil, fmt.Errorf("sev-snp: collateral.bundle: %v", err)
	}
	b := &bundle{crls: map[string][]byte{}}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, fmt.Errorf("sev-snp: collateral.bundle %s: data after PEM block %d is not PEM", path, n)
			}
			break
		}
		n++
		if err := b.add(block); err != nil {
			return nil, fmt.Errorf("sev-snp: collateral.bundle %s: PEM block %d: %v", path, n, err)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("sev-snp: collateral.bundle %s: no PEM blocks", path)
	}
	return b, nil
}

func (b *bundle) add(block *pem.Block) error {
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return err
		}
		cn := c.Subject.CommonName
		switch {
		case cn == "SEV-VCEK":
			b.vceks = append(b.vceks, c)
		case cn == "SEV-VLEK":
			b.vleks = append(b.vleks, c)
		case strings.HasPrefix(cn, "ARK-"):
			b.arks = append(b.arks, c)
		case strings.HasPrefix(cn, "SEV-"):
			// ASK or ASVK: the verifier takes intermediates from the
			// trusted roots, so these are accepted and not needed.
		default:
			return fmt.Errorf("certificate %q is not an AMD SEV certificate (want SEV-VCEK, SEV-VLEK, SEV-<product>, SEV-VLEK-<product> or ARK-<product>)", cn)
		}
	case "X509 CRL":
		crl, err := x509.ParseRevocationList(block.Bytes)
		if err != nil {
			return err
		}
		line, ok := strings.CutPrefix(crl.Issuer.CommonName, "ARK-")
		if !ok {
			return fmt.Errorf("CRL issuer %q is not an AMD root (ARK-<product>)", crl.Issuer.CommonName)
		}
		b.crls[line] = block.Bytes
	default:
		return fmt.Errorf("unexpected PEM block type %q (want CERTIFICATE or X509 CRL)", block.Type)
	}
	return nil
}

// checkRoots refuses a bundle whose ARKs are not among the trusted roots: a
// bundle taken from another chain would only fail later, less clearly.
func (b *bundle) checkRoots(roots map[string][]*trust.AMDRootCerts) error {
	for _, ark := range b.arks {
		if !trustedARK(ark, roots) {
			return fmt.Errorf("sev-snp: collateral.bundle: ARK %q (serial %x) is not one of the trusted AMD roots", ark.Subject.CommonName, ark.SerialNumber)
		}
	}
	return nil
}

func trustedARK(ark *x509.Certificate, roots map[string][]*trust.AMDRootCerts) bool {
	for _, rs := range roots {
		for _, r := range rs {
			if r != nil && r.ProductCerts != nil && r.ProductCerts.Ark != nil && r.ProductCerts.Ark.Equal(ark) {
				return true
			}
		}
	}
	return false
}

// fill puts the bundle's endorsement key certificate for the report into
// the attestation's certificate chain if the evidence did not carry one:
// the VCEK whose chip ID and TCB match the report's, or the VLEK whose TCB
// does.
func (b *bundle) fill(att *spb.Attestation) {
	if b == nil {
		return
	}
	r := att.GetReport()
	info, err := abi.ParseSignerInfo(r.GetSignerInfo())
	if err != nil {
		return
	}
	chain := att.GetCertificateChain()
	switch info.SigningKey {
	case abi.VcekReportSigner:
		if len(chain.GetVcekCert()) == 0 {
			chain.VcekCert = pick(b.vceks, abi.VcekReportSigner, r)
		}
	case abi.VlekReportSigner:
		if len(chain.GetVlekCert()) == 0 {
			chain.VlekCert = pick(b.vleks, abi.VlekReportSigner, r)
		}
	}
}

func pick(certs []*x509.Certificate, key abi.ReportSigner, r *spb.Report) []byte {
	for _, c := range certs {
		ext, err := kds.CertificateExtensions(c, key)
		if err != nil || uint64(ext.TCBVersion) != r.GetReportedTcb() {
			continue
		}
		if key == abi.VcekReportSigner && !allZero(r.GetChipId()) && !bytes.Equal(ext.HWID, r.GetChipId()) {
			continue
		}
		return c.Raw
	}
	return nil
}
