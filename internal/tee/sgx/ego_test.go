//go:build ego

package sgx

import (
	"context"
	"testing"

	"github.com/confed/confed/internal/tee"
)

// These run in the tagged builds that compile without Open Enclave
// (TestTaggedBuilds runs them): outside an enclave, nothing verifies and
// nothing is issued.

func TestEGoIssuerOutsideEnclave(t *testing.T) {
	_, err := NewIssuer()
	mustContain(t, err, "sgx: not running inside an EGo enclave")
}

func TestEGoVerifierFailsClosed(t *testing.T) {
	v, err := NewVerifier(Policy{UniqueIDs: []string{mrenclave}})
	if err != nil {
		t.Fatal(err)
	}
	rd := [64]byte{1}
	tests := []struct {
		name    string
		ev      tee.Evidence
		wantErr string
	}{
		{name: "wrong kind", ev: tee.Evidence{Kind: tee.KindTDX, Raw: []byte{1}}, wantErr: "accepts only"},
		{name: "empty", ev: tee.Evidence{Kind: tee.KindSGX}, wantErr: "sgx: malformed report: 0 bytes"},
		{name: "oversized", ev: tee.Evidence{Kind: tee.KindSGX, Raw: make([]byte, MaxReportSize+1)}, wantErr: "sgx: malformed report"},
		{name: "garbage", ev: tee.Evidence{Kind: tee.KindSGX, Raw: []byte("not a report")}, wantErr: "sgx: report verification failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.ev, rd)
			mustContain(t, err, tt.wantErr)
		})
	}
	_, err = NewVerifier(Policy{})
	mustContain(t, err, "sgx policy: unique_ids: missing")
}
