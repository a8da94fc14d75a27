package tee

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCheckEvidence(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		kind    string
		wantErr string
	}{
		{"match", context.Background(), KindNitro, ""},
		{"other kind", context.Background(), KindCCA, `aws-nitro: evidence kind "arm-cca": this verifier accepts only "aws-nitro"`},
		{"empty kind", context.Background(), "", `aws-nitro: evidence kind "": this verifier accepts only "aws-nitro"`},
		{"cancelled", done, KindNitro, context.Canceled.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEvidence(tc.ctx, Evidence{Kind: tc.kind}, KindNitro)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckEvidence: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("CheckEvidence error %v, want %q", err, tc.wantErr)
			}
		})
	}
	if err := CheckEvidence(done, Evidence{Kind: KindNitro}, KindNitro); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want context.Canceled", err)
	}
}

func TestClock(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := Clock(func() time.Time { return fixed })(); !got.Equal(fixed) {
		t.Fatalf("Clock(fixed)() = %s, want %s", got, fixed)
	}
	before := time.Now()
	if got := Clock(nil)(); got.Before(before) {
		t.Fatalf("Clock(nil)() = %s, before %s", got, before)
	}
}

func TestListed(t *testing.T) {
	list := [][]byte{{1, 2}, {3}}
	tests := []struct {
		b    []byte
		want bool
	}{
		{[]byte{1, 2}, true}, {[]byte{3}, true}, {[]byte{1}, false}, {[]byte{1, 2, 3}, false}, {nil, false},
	}
	for _, tt := range tests {
		if got := Listed(list, tt.b); got != tt.want {
			t.Errorf("Listed(%x) = %v, want %v", tt.b, got, tt.want)
		}
	}
	if Listed(nil, []byte{1}) {
		t.Error("an empty allow-list lists nothing")
	}
}
