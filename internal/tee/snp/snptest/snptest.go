// Package snptest is a fake AMD for tests: a test-only ARK → ASK → VCEK
// (and ASVK → VLEK) certificate chain, a fake key server that also serves a
// CRL, and guests whose attestation reports are genuinely signed by the fake
// VCEK or VLEK, for any report data. The snp Verifier checks them with its
// real code; only the trust anchors (Options.TrustedRoots) and the
// key-server getter differ from production.
//
// Typical use:
//
//	fake := snptest.New(t, snptest.Options{})
//	ev, _ := fake.Issuer().Issue(ctx, reportData)
//	v, _ := snp.NewVerifier(fake.Policy(), fake.VerifierOptions())
//	claims, err := v.Verify(ctx, ev, reportData)
//
// The package imports go-sev-guest's testing package, which registers the
// command-line flags -product, -product_name, -test_kds and -test_use_kds
// on flag.CommandLine; a test binary that imports snptest must not define
// flags of those names.
package snptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	test "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/trust"
)

// Defaults of a fake guest and chip.
var (
	// DefaultMeasurement is the launch measurement of a default fake guest.
	DefaultMeasurement = sha512.Sum384([]byte("confed snptest guest"))
	// DefaultTCB is the TCB of a default fake chip.
	DefaultTCB = snp.TCB{Bootloader: 3, TEE: 0, SNP: 14, Microcode: 209}
)

// DefaultGuestPolicy is the guest policy of a default fake guest: SMT
// allowed (bit 16), reserved bit 17 set, debug off.
const DefaultGuestPolicy = 0x30000

// DefaultProductName is the product of a default fake chip.
const DefaultProductName = "Milan-B1"

// Options configure a fake AMD chip and its certificate chain.
type Options struct {
	// ProductName is the chip's product and stepping (default "Milan-B1";
	// also Genoa-B0/B1/B2, Turin-B0/B1, Milan-B0).
	ProductName string
	// TCB is the chip's TCB, certified in its VCEK (default DefaultTCB).
	TCB snp.TCB
	// CreatedAt is when the chain was made; ARK and ASK are valid from
	// then, the VCEK for 7 years (default: an hour ago).
	CreatedAt time.Time
	// IndependentKeys makes fresh keys for the whole chain: a second,
	// independent "AMD" whose evidence the first one's roots must refuse.
	// Without it every fake shares go-sev-guest's fixed test keys.
	IndependentKeys bool
}

// Fake is a fake AMD chip with its certificate chain and key server.
type Fake struct {
	Signer      *test.AmdSigner
	Product     *spb.SevProduct
	ProductName string
	TCB         snp.TCB
	HWID        [abi.ChipIDSize]byte
	CreatedAt   time.Time
	// KDS is the fake key server, usable as snp.Options.Getter.
	KDS *Getter
}

// chainMu serialises go-sev-guest's chain building, which draws from one
// shared math/rand source.
var chainMu sync.Mutex

// New makes a fake chip. It clears go-sev-guest's process-wide ASK/ARK
// cache now and when the test ends.
func New(t testing.TB, opts Options) *Fake {
	t.Helper()
	trust.ClearProductCertCache()
	t.Cleanup(trust.ClearProductCertCache)
	f, err := newFake(opts)
	if err != nil {
		t.Fatalf("snptest: %v", err)
	}
	return f
}

func newFake(opts Options) (*Fake, error) {
	f := &Fake{ProductName: opts.ProductName, TCB: opts.TCB, CreatedAt: opts.CreatedAt}
	if f.ProductName == "" {
		f.ProductName = DefaultProductName
	}
	product, err := kds.ParseProductName(f.ProductName, abi.VcekReportSigner)
	if err != nil {
		return nil, err
	}
	f.Product = product
	if f.TCB == (snp.TCB{}) {
		f.TCB = DefaultTCB
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	keys := test.DefaultAmdKeys()
	for i := range f.HWID {
		f.HWID[i] = byte(0xc0 + i)
	}
	if opts.IndependentKeys {
		if keys, err = freshKeys(); err != nil {
			return nil, err
		}
		if _, err := rand.Read(f.HWID[:]); err != nil {
			return nil, err
		}
	}
	tcb := kds.TCBParts{BlSpl: f.TCB.Bootloader, TeeSpl: f.TCB.TEE, SnpSpl: f.TCB.SNP, UcodeSpl: f.TCB.Microcode}
	b := &test.AmdSignerBuilder{
		Keys:             keys,
		ProductName:      f.ProductName,
		CSPID:            "confed-snptest",
		ArkCreationTime:  f.CreatedAt,
		AskCreationTime:  f.CreatedAt,
		AsvkCreationTime: f.CreatedAt,
		VcekCreationTime: f.CreatedAt,
		VlekCreationTime: f.CreatedAt,
		HWID:             f.HWID,
		TCB:              kds.TCBVersion(f.TCB.Version()),
		// The builder certifies TCB 0 and chip ID 0 unless told otherwise.
		VcekCustom: test.CertOverride{Extensions: test.CustomExtensions(tcb, f.HWID[:], "", f.ProductName)},
		VlekCustom: test.CertOverride{Extensions: test.CustomExtensions(tcb, nil, "confed-snptest", f.ProductName)},
	}
	chainMu.Lock()
	signer, err := b.TestOnlyCertChain()
	chainMu.Unlock()
	if err != nil {
		return nil, err
	}
	signer.Product = product // FakeKDSFromSigner needs it; the builder does not set it
	f.Signer = signer
	if f.KDS, err = newGetter(f); err != nil {
		return nil, err
	}
	return f, nil
}

func freshKeys() (*test.AmdKeys, error) {
	var k test.AmdKeys
	var err error
	for _, p := range []**rsa.PrivateKey{&k.Ark, &k.Ask, &k.Asvk} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	for _, p := range []**ecdsa.PrivateKey{&k.Vcek, &k.Vlek} {
		if *p, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

// ProductLine is the chip's product line (Milan, Genoa, Turin).
func (f *Fake) ProductLine() string { return kds.ProductLine(f.Product) }

// Roots are the fake chain's trust anchors, in the form of
// snp.Options.TrustedRoots. Each call returns new root objects.
func (f *Fake) Roots() map[string][]*trust.AMDRootCerts {
	line := f.ProductLine()
	return map[string][]*trust.AMDRootCerts{line: {{
		ProductLine:  line,
		ProductCerts: &trust.ProductCerts{Ark: f.Signer.Ark, Ask: f.Signer.Ask, Asvk: f.Signer.Asvk},
	}}}
}

// VerifierOptions are snp.Options that trust this fake: its roots and its
// key server. The clock is the real one.
func (f *Fake) VerifierOptions() snp.Options {
	return snp.Options{TrustedRoots: f.Roots(), Getter: f.KDS}
}

// Verifier is snp.NewVerifier(f.Policy(), f.VerifierOptions()); it fails
// the test on error.
func (f *Fake) Verifier(t testing.TB) *snp.Verifier {
	t.Helper()
	v, err := snp.NewVerifier(f.Policy(), f.VerifierOptions())
	if err != nil {
		t.Fatalf("snptest: %v", err)
	}
	return v
}

// Policy accepts exactly what a default guest (Guest()) of this chip
// produces: its measurement, the chip's TCB as minimum, SMT allowed, the
// chip's product line, revocations checked through the fake key server.
func (f *Fake) Policy() snp.Policy {
	return snp.Policy{
		Measurements: []string{hex.EncodeToString(DefaultMeasurement[:])},
		MinimumTCB:   f.TCB,
		AllowSMT:     true,
		Product:      f.ProductLine(),
	}
}

// Guest describes a fake guest: what its reports say. Start from
// Fake.Guest() and change fields.
type Guest struct {
	Measurement  [abi.MeasurementSize]byte
	Policy       uint64 // guest policy (see DefaultGuestPolicy)
	VMPL         uint32
	GuestSVN     uint32
	HostData     [abi.HostDataSize]byte
	PlatformInfo uint64 // bit 0: the host runs with SMT
	// ReportedTCB and LaunchTCB default to the chip's TCB. A reported TCB
	// other than the one the VCEK certifies fails validation.
	ReportedTCB *snp.TCB
	LaunchTCB   *snp.TCB
	// Version is the report version (default 3: with CPUID family, model
	// and stepping; 2 leaves the product to the VCEK certificate).
	Version uint32
	// VLEK signs with the fake VLEK instead of the VCEK.
	VLEK bool
	// OmitCertTable sends the bare report: the verifier must get the VCEK
	// from the key server or a bundle.
	OmitCertTable bool
	// Modify, if set, changes the report just before it is signed.
	Modify func(*spb.Report)
}

// Guest returns the default guest: DefaultMeasurement, DefaultGuestPolicy,
// VMPL 0, guest SVN 0, zero host data, SMT on, version 3 report.
func (f *Fake) Guest() Guest {
	return Guest{Measurement: DefaultMeasurement, Policy: DefaultGuestPolicy, PlatformInfo: 1, Version: 3}
}

// Quote returns evidence bytes for g binding reportData: a report signed by
// the fake VCEK (or VLEK), followed by the certificate table.
func (f *Fake) Quote(g Guest, reportData [64]byte) ([]byte, error) {
	tcb := f.TCB.Version()
	reported, launch := tcb, tcb
	if g.ReportedTCB != nil {
		reported = g.ReportedTCB.Version()
	}
	if g.LaunchTCB != nil {
		launch = g.LaunchTCB.Version()
	}
	version := g.Version
	if version == 0 {
		version = 3
	}
	signing := abi.VcekReportSigner
	key := f.Signer.Keys.Vcek
	if g.VLEK {
		signing = abi.VlekReportSigner
		key = f.Signer.Keys.Vlek
	}
	reportID := make([]byte, abi.ReportIDSize)
	if _, err := rand.Read(reportID); err != nil {
		return nil, err
	}
	ma := make([]byte, abi.ReportIDMASize)
	for i := range ma {
		ma[i] = 0xff // no migration agent
	}
	r := &spb.Report{
		Version:         version,
		GuestSvn:        g.GuestSVN,
		Policy:          g.Policy,
		FamilyId:        make([]byte, abi.FamilyIDSize),
		ImageId:         make([]byte, abi.ImageIDSize),
		Vmpl:            g.VMPL,
		SignatureAlgo:   abi.SignEcdsaP384Sha384,
		CurrentTcb:      tcb,
		PlatformInfo:    g.PlatformInfo,
		SignerInfo:      abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: signing}),
		ReportData:      reportData[:],
		Measurement:     g.Measurement[:],
		HostData:        g.HostData[:],
		IdKeyDigest:     make([]byte, abi.IDKeyDigestSize),
		AuthorKeyDigest: make([]byte, abi.AuthorKeyDigestSize),
		ReportId:        reportID,
		ReportIdMa:      ma,
		ReportedTcb:     reported,
		ChipId:          f.HWID[:],
		CommittedTcb:    tcb,
		CurrentBuild:    21,
		CurrentMinor:    55,
		CurrentMajor:    1,
		CommittedBuild:  21,
		CommittedMinor:  55,
		CommittedMajor:  1,
		LaunchTcb:       launch,
		Signature:       make([]byte, abi.SignatureSize),
	}
	if version >= abi.ReportVersion3 {
		r.Cpuid1EaxFms = abi.MaskedCpuid1EaxFromSevProduct(f.Product)
	}
	if g.Modify != nil {
		g.Modify(r)
	}
	raw, err := abi.ReportToAbiBytes(r)
	if err != nil {
		return nil, err
	}
	if err := Sign(raw, key); err != nil {
		return nil, err
	}
	if g.OmitCertTable {
		return raw, nil
	}
	certs, err := f.Signer.CertTableBytes()
	if err != nil {
		return nil, err
	}
	return append(raw, certs...), nil
}

// Sign (re-)signs a raw report in place with key, as the AMD secure
// processor does: ECDSA P-384 over SHA-384 of the bytes before the
// signature.
func Sign(report []byte, key *ecdsa.PrivateKey) error {
	if len(report) < abi.ReportSize {
		return fmt.Errorf("report is %d bytes, want %d", len(report), abi.ReportSize)
	}
	digest := sha512.Sum384(abi.SignedComponent(report))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return err
	}
	return abi.SetSignature(r, s, report[:abi.ReportSize])
}

// Evidence is Quote as tee.Evidence; it fails the test on error.
func (f *Fake) Evidence(t testing.TB, g Guest, reportData [64]byte) tee.Evidence {
	t.Helper()
	raw, err := f.Quote(g, reportData)
	if err != nil {
		t.Fatalf("snptest: %v", err)
	}
	return tee.Evidence{Kind: tee.KindSEVSNP, Raw: raw}
}

// Issuer is an snp.Issuer whose "hardware" is this fake running the
// default guest.
func (f *Fake) Issuer() *snp.Issuer { return f.IssuerFor(f.Guest()) }

// IssuerFor is an snp.Issuer whose "hardware" is this fake running g.
func (f *Fake) IssuerFor(g Guest) *snp.Issuer {
	return snp.NewIssuerWithProvider(quoteProvider{f, g})
}

type quoteProvider struct {
	f *Fake
	g Guest
}

func (q quoteProvider) GetRawQuote(reportData [64]byte) ([]byte, error) {
	return q.f.Quote(q.g, reportData)
}

// BundlePEM is a collateral bundle for offline verification: the VCEK,
// VLEK, ASK, ASVK and ARK certificates and the current CRL.
func (f *Fake) BundlePEM() []byte {
	var out []byte
	for _, c := range []*x509.Certificate{f.Signer.Vcek, f.Signer.Vlek, f.Signer.Ask, f.Signer.Asvk, f.Signer.Ark} {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: f.KDS.currentCRL()})...)
}

// RevokeASK makes the fake key server's CRL revoke the ASK (and so every
// VCEK under it).
func (f *Fake) RevokeASK() error {
	crl, err := f.makeCRL(f.Signer.Ask.SerialNumber)
	if err != nil {
		return err
	}
	f.KDS.setCRL(crl)
	return nil
}

// ClearRevocations makes the fake key server's CRL revoke nothing again.
func (f *Fake) ClearRevocations() error {
	crl, err := f.makeCRL()
	if err != nil {
		return err
	}
	f.KDS.setCRL(crl)
	return nil
}

// makeCRL returns a CRL signed by the fake ARK that revokes serials.
func (f *Fake) makeCRL(serials ...*big.Int) ([]byte, error) {
	now := time.Now()
	if f.CreatedAt.After(now) {
		now = f.CreatedAt
	}
	tmpl := &x509.RevocationList{
		SignatureAlgorithm: x509.SHA384WithRSAPSS,
		Number:             big.NewInt(now.UnixNano()),
		ThisUpdate:         f.CreatedAt,
		NextUpdate:         now.AddDate(1, 0, 0),
	}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: s, RevocationTime: f.CreatedAt})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, f.Signer.Ark, f.Signer.Keys.Ark)
}
