package tdx

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/testing/testdata"
	"github.com/google/go-tdx-guest/verify"
)

func TestScratch(t *testing.T) {
	raw := testdata.RawQuote
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := &verify.TimeSet{now, now, now, now, now}
	var survived []int
	start := time.Now()
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		func() {
			defer func() {
				if r := recover(); r != nil {
					return
				}
			}()
			q, err := abi.QuoteToProto(b)
			if err != nil {
				return
			}
			if err := verify.TdxQuote(q, &verify.Options{Now: ts}); err == nil {
				survived = append(survived, i)
			}
		}()
	}
	fmt.Println(time.Since(start), len(survived), survived)
}
