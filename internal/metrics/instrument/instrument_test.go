package instrument

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/confed/confed/internal/metrics"
	"github.com/confed/confed/internal/tee"
)

func TestCode(t *testing.T) {
	known := []string{"late", "non_finite"}
	for msg, want := range map[string]string{
		"late":                   "late",
		"late: closed at 12:00":  "late",
		"non_finite:x":           "non_finite",
		"lately something":       Other,
		"":                       Other,
		"prefix late: something": Other,
	} {
		if got := Code(msg, known); got != want {
			t.Errorf("Code(%q) = %q, want %q", msg, got, want)
		}
	}
}

type fixedVerifier struct{ err error }

func (v fixedVerifier) Verify(context.Context, tee.Evidence, [64]byte) (tee.Claims, error) {
	return tee.Claims{}, v.err
}

// TestVerifications counts results by kind, and folds unknown kinds, which
// a peer chooses, into "other".
func TestVerifications(t *testing.T) {
	reg := metrics.NewRegistry()
	v := NewVerifications(reg, "x")
	ok := v.Wrap(fixedVerifier{}, "aggregator")
	bad := v.Wrap(fixedVerifier{errors.New("no")}, "aggregator")
	ctx := context.Background()
	ok.Verify(ctx, tee.Evidence{Kind: tee.KindSEVSNP}, [64]byte{})
	ok.Verify(ctx, tee.Evidence{Kind: tee.KindSEVSNP}, [64]byte{})
	bad.Verify(ctx, tee.Evidence{Kind: "made-up\"kind"}, [64]byte{})
	var b strings.Builder
	if err := reg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	exp, err := metrics.Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"peer", "aggregator", "tee", "sev-snp", "result", "ok"}, 2},
		{[]string{"peer", "aggregator", "tee", "other", "result", "refused"}, 1},
	} {
		if got, _ := exp.Value("x_attestation_verifications_total", c.labels...); got != c.want {
			t.Errorf("%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if (*Verifications)(nil).Wrap(ok, "p") != ok {
		t.Error("a nil Verifications must return the verifier unchanged")
	}
}
