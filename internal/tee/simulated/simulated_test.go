package simulated

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/confed/confed/internal/tee"
)

func TestSimulatedRequiresExplicitOptIn(t *testing.T) {
	if _, err := NewIssuer(tee.Options{}); !errors.Is(err, tee.ErrInsecureRefused) {
		t.Fatalf("NewIssuer without opt-in: err = %v, want ErrInsecureRefused", err)
	}
	on := tee.Options{AllowInsecureSimulated: true}
	iss, err := NewIssuerWithMeasurement(on, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	rd := tee.ReportData("test", []byte("x"))
	ev, err := iss.Issue(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(tee.Options{}).Verify(context.Background(), ev, rd); !errors.Is(err, tee.ErrInsecureRefused) {
		t.Fatalf("verifier without opt-in accepted simulated evidence: %v", err)
	}
}

func TestVerify(t *testing.T) {
	on := tee.Options{AllowInsecureSimulated: true}
	m := [32]byte{7}
	iss, err := NewIssuerWithMeasurement(on, m)
	if err != nil {
		t.Fatal(err)
	}
	rd := tee.ReportData("label", []byte("key"))
	ev, err := iss.Issue(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(f func(string) string) tee.Evidence {
		return tee.Evidence{Kind: ev.Kind, Raw: []byte(f(string(ev.Raw)))}
	}
	other := tee.ReportData("label", []byte("other key"))
	tests := []struct {
		name    string
		ev      tee.Evidence
		rd      [64]byte
		allowed [][]byte
		wantErr string
	}{
		{name: "valid", ev: ev, rd: rd},
		{name: "valid with allow-list", ev: ev, rd: rd, allowed: [][]byte{m[:]}},
		{name: "measurement not allowed", ev: ev, rd: rd, allowed: [][]byte{make([]byte, 32)}, wantErr: "not in the allowed list"},
		{name: "other report data", ev: ev, rd: other, wantErr: "does not bind"},
		{name: "wrong kind", ev: tee.Evidence{Kind: tee.KindSEVSNP, Raw: ev.Raw}, rd: rd, wantErr: "accepts only"},
		{name: "garbage", ev: tee.Evidence{Kind: tee.KindSimulated, Raw: []byte("{")}, rd: rd, wantErr: "simulated evidence"},
		{name: "unknown field", ev: tamper(func(s string) string { return strings.Replace(s, "{", `{"x":1,`, 1) }), rd: rd, wantErr: "unknown field"},
		{name: "trailing data", ev: tamper(func(s string) string { return s + "{}" }), rd: rd, wantErr: "trailing"},
		{name: "warning removed", ev: tamper(func(s string) string { return strings.Replace(s, "INSECURE", "SECURE", 1) }), rd: rd, wantErr: "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewVerifier(on, tt.allowed...).Verify(context.Background(), tt.ev, tt.rd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Insecure || c.Kind != tee.KindSimulated || c.ReportData != tt.rd {
				t.Fatalf("claims = %+v: want insecure simulated claims binding the report data", c)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	on := tee.Options{AllowInsecureSimulated: true}
	iss, _ := NewIssuerWithMeasurement(on, [32]byte{1})
	ev, _ := iss.Issue(context.Background(), [64]byte{})
	f.Add(ev.Raw)
	f.Add([]byte(`{"version":1}`))
	v := NewVerifier(on)
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := v.Verify(context.Background(), tee.Evidence{Kind: tee.KindSimulated, Raw: raw}, [64]byte{})
		if err == nil && !c.Insecure {
			t.Fatal("accepted simulated evidence without marking it insecure")
		}
	})
}
