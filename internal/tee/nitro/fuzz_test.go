package nitro

import (
	"testing"
	"time"

	"github.com/confed/confed/internal/tee/nitro/nitrotest"
)

func FuzzParseDocument(f *testing.F) {
	f.Add(sampleDoc(f))
	if ca, err := nitrotest.NewCA(time.Now()); err == nil {
		if d, err := ca.Sign(nitrotest.Doc{Nonce: []byte("n"), Time: time.Now()}); err == nil {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseDocument(b); err == nil {
			_, _ = Describe(b)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte("\xa1\x65Error\x6fInvalidArgument"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeResponse(b) })
}
