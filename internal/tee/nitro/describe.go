package nitro

import (
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/confed/confed/internal/tee/cose"
)

// Field is one named, readable value of a document.
type Field struct{ Name, Value string }

// Describe lists every field of a document. It verifies nothing.
func Describe(raw []byte) ([]Field, error) {
	d, err := ParseDocument(raw)
	if err != nil {
		return nil, err
	}
	f := []Field{
		{"module_id", d.ModuleID},
		{"digest", d.Digest},
		{"timestamp", d.Timestamp.Format(time.RFC3339Nano)},
		{"signature_algorithm", cose.AlgName(d.sign1.Alg)},
	}
	idx := make([]int, 0, len(d.PCRs))
	for i := range d.PCRs {
		idx = append(idx, int(i))
	}
	sort.Ints(idx)
	for _, i := range idx {
		f = append(f, Field{fmt.Sprintf("pcr%d", i), hex.EncodeToString(d.PCRs[uint(i)])})
	}
	f = append(f, Field{"certificate", certLine(d.Certificate.Subject.CommonName, d.Certificate.NotBefore, d.Certificate.NotAfter)})
	for i, c := range d.CABundle {
		f = append(f, Field{fmt.Sprintf("cabundle[%d]", i), certLine(c.Subject.CommonName, c.NotBefore, c.NotAfter)})
	}
	f = append(f,
		Field{"public_key", hexOrNone(d.PublicKey)},
		Field{"user_data", hexOrNone(d.UserData)},
		Field{"nonce", hexOrNone(d.Nonce)},
	)
	return f, nil
}

func certLine(cn string, from, to time.Time) string {
	return fmt.Sprintf("%s (valid %s to %s)", cn, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
}

func hexOrNone(b []byte) string {
	if b == nil {
		return "(none)"
	}
	return hex.EncodeToString(b)
}
