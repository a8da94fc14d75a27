package snp

import "testing"

// The embedded roots carry the ASVK that go-sev-guest's defaults lack.
func TestDefaultRoots(t *testing.T) {
	roots, err := defaultRoots()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Milan", "Genoa", "Turin"} {
		rs := roots[line]
		if len(rs) != 1 || rs[0].ProductCerts.Ark == nil || rs[0].ProductCerts.Ask == nil || rs[0].ProductCerts.Asvk == nil {
			t.Fatalf("%s: %+v", line, rs)
		}
		if err := rs[0].ProductCerts.Asvk.CheckSignatureFrom(rs[0].ProductCerts.Ark); err != nil {
			t.Errorf("%s ASVK not signed by the ARK: %v", line, err)
		}
		if err := rs[0].ProductCerts.Ask.CheckSignatureFrom(rs[0].ProductCerts.Ark); err != nil {
			t.Errorf("%s ASK not signed by the ARK: %v", line, err)
		}
	}
}
