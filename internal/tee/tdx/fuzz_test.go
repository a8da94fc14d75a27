package tdx

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/google/go-tdx-guest/testing/testdata"

	"github.com/confed/confed/internal/tee"
)

// fuzzSeeds are the sample quote and variants that reach different parser
// paths, including the one that makes go-tdx-guest's parser panic.
func fuzzSeeds() [][]byte {
	raw := testdata.RawQuote
	zeroSigned := bytes.Clone(raw)
	binary.LittleEndian.PutUint32(zeroSigned[0x278:], 0)
	hugeSigned := bytes.Clone(raw)
	binary.LittleEndian.PutUint32(hugeSigned[0x278:], 0xffffffff)
	debug := bytes.Clone(raw)
	debug[0x30+0x78] |= 1
	return [][]byte{raw, raw[:0x3fc], raw[:0x27c], raw[:len(raw)-40], zeroSigned, hugeSigned, debug, {4, 0}, nil}
}

// FuzzVerify checks that no input makes Verify panic, and that no accepted
// quote differs from the sample in what its signature authenticates and
// the claims are made of: the header and the TD quote body. (The signature
// and certification data may in principle vary: an ECDSA signature (r, s)
// also verifies as (r, n-s), and trailing bytes are ignored.)
func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	v, err := NewVerifier(offlinePolicy(), Options{Now: fixedNow(sampleNow)})
	if err != nil {
		f.Fatal(err)
	}
	rd := sampleRD(f)
	const headerAndBody = 0x30 + 0x248
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindTDX, Raw: raw}, rd)
		if err == nil && !bytes.Equal(raw[:headerAndBody], testdata.RawQuote[:headerAndBody]) {
			t.Fatalf("accepted a quote whose header or TD quote body differs from the sample")
		}
	})
}

// FuzzDescribe checks that no input makes Describe panic.
func FuzzDescribe(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fields, err := Describe(raw)
		if err == nil && len(fields) == 0 {
			t.Fatal("no error and no fields")
		}
	})
}
