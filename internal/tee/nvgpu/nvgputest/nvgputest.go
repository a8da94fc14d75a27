// Package nvgputest builds genuinely signed NVIDIA GPU attestation
// evidence (SPDM 1.1 GET_MEASUREMENTS request and signed response, with a
// certificate chain under a test root), for tests of the nvgpu verifier.
package nvgputest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"time"
)

// GPU is a fake GPU with its own certificate chain.
type GPU struct {
	Root  *x509.Certificate
	chain []*x509.Certificate // leaf first, root last
	key   *ecdsa.PrivateKey
}

// NewGPU makes a root, an intermediate and the GPU's attestation
// certificate, all ECDSA P-384, valid around now.
func NewGPU(now time.Time) (*GPU, error) {
	root, rootKey, err := mk("nvgputest Device Identity CA", now, nil, nil, true)
	if err != nil {
		return nil, err
	}
	inter, interKey, err := mk("nvgputest GH100 Identity", now, root, rootKey, true)
	if err != nil {
		return nil, err
	}
	leaf, key, err := mk("nvgputest GH100 A01 GSP FMC LF", now, inter, interKey, false)
	if err != nil {
		return nil, err
	}
	return &GPU{Root: root, chain: []*x509.Certificate{leaf, inter, root}, key: key}, nil
}

func mk(cn string, now time.Time, parent *x509.Certificate, pk *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	t := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, SerialNumber: "0123456789"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: ca}
	if ca {
		t.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, pk = t, key
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, &key.PublicKey, pk)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// Report builds a signed attestation report for nonce with the given
// measurements (index → value) and driver version.
func (g *GPU) Report(nonce [32]byte, meas map[int][]byte, driver string) []byte {
	req := append([]byte{0x11, 0xE0, 0x01, 0xFF}, nonce[:]...)
	req = append(req, 0x00)
	var rec []byte
	idx := make([]int, 0, len(meas))
	for i := range meas {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		v := meas[i]
		rec = append(rec, byte(i), 1)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(len(v)+3))
		rec = append(rec, 0x01)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(len(v)))
		rec = append(rec, v...)
	}
	resp := []byte{0x11, 0x60, 0x00, 0x00, byte(len(idx)), byte(len(rec)), byte(len(rec) >> 8), byte(len(rec) >> 16)}
	resp = append(resp, rec...)
	resp = append(resp, make([]byte, 32)...) // responder nonce
	opaque := binary.LittleEndian.AppendUint16(nil, 3)
	opaque = binary.LittleEndian.AppendUint16(opaque, uint16(len(driver)+1))
	opaque = append(append(opaque, driver...), 0)
	resp = binary.LittleEndian.AppendUint16(resp, uint16(len(opaque)))
	resp = append(resp, opaque...)
	h := sha512.New384()
	h.Write(req)
	h.Write(resp)
	r, s, err := ecdsa.Sign(rand.Reader, g.key, h.Sum(nil))
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	out := append(req, resp...)
	return append(out, sig...)
}

// ChainPEM is the GPU's certificate chain, leaf first.
func (g *GPU) ChainPEM() string {
	var b strings.Builder
	for _, c := range g.chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}
