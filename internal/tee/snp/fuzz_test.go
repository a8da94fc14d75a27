package snp_test

import (
	"encoding/binary"
	"testing"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/snp"
	"github.com/confed/confed/internal/tee/snp/snptest"
	"github.com/google/go-sev-guest/abi"
)

// fuzzSeeds are genuine evidence (for other report data than the fuzz
// targets expect) and a few malformed shapes.
func fuzzSeeds(f *testing.F, fake *snptest.Fake) {
	good, err := fake.Quote(fake.Guest(), rdFor("seed"))
	if err != nil {
		f.Fatal(err)
	}
	g := fake.Guest()
	g.OmitCertTable = true
	bare, err := fake.Quote(g, rdFor("seed"))
	if err != nil {
		f.Fatal(err)
	}
	wrap := append([]byte{}, good[:abi.ReportSize]...)
	entry := make([]byte, 2*abi.CertTableEntrySize)
	entry[0] = 1
	binary.LittleEndian.PutUint32(entry[16:], 0xFFFFFF00)
	binary.LittleEndian.PutUint32(entry[20:], 0x100)
	f.Add(good)
	f.Add(bare)
	f.Add(append(wrap, entry...))
	f.Add(good[:abi.ReportSize+30])
	f.Add([]byte{})
}

// FuzzVerify: no input panics, and none verifies, since the report data
// expected was never signed by the fake.
func FuzzVerify(f *testing.F) {
	fake := snptest.New(f, snptest.Options{})
	fuzzSeeds(f, fake)
	v, err := snp.NewVerifier(fake.Policy(), fake.VerifierOptions())
	if err != nil {
		f.Fatal(err)
	}
	rd := rdFor("never signed")
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := v.Verify(ctx, tee.Evidence{Kind: tee.KindSEVSNP, Raw: raw}, rd)
		if err == nil {
			t.Fatalf("verified: %+v", c)
		}
	})
}

// FuzzDescribe: no input panics; output only for inputs that parse.
func FuzzDescribe(f *testing.F) {
	fuzzSeeds(f, snptest.New(f, snptest.Options{}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fields, err := snp.Describe(raw)
		if err != nil && fields != nil {
			t.Fatalf("fields with error %v", err)
		}
		if err == nil && len(fields) < 20 {
			t.Fatalf("only %d fields", len(fields))
		}
	})
}
