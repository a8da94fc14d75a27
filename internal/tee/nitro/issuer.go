package nitro

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/cose"
)

// DevicePath is the Nitro Security Module's device inside an enclave.
const DevicePath = "/dev/nsm"

// Issuer asks the NSM for attestation documents whose nonce is the report
// data.
type Issuer struct{ path string }

var _ tee.Issuer = (*Issuer)(nil)

// NewIssuer returns an issuer, or an error saying why this machine cannot
// issue Nitro evidence.
func NewIssuer() (*Issuer, error) {
	if _, err := os.Stat(DevicePath); err != nil {
		return nil, fmt.Errorf("nitro: %s not present: this machine is not a Nitro Enclave", DevicePath)
	}
	return &Issuer{path: DevicePath}, nil
}

// Kind implements tee.Issuer.
func (*Issuer) Kind() string { return tee.KindNitro }

// Issue implements tee.Issuer: the report data goes into the document's
// nonce (the policy's default binding).
func (i *Issuer) Issue(ctx context.Context, reportData [64]byte) (tee.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return tee.Evidence{}, err
	}
	req, err := encodeRequest(reportData[:])
	if err != nil {
		return tee.Evidence{}, err
	}
	resp, err := nsmCall(i.path, req)
	if err != nil {
		return tee.Evidence{}, fmt.Errorf("nitro: %s: %w", i.path, err)
	}
	doc, err := decodeResponse(resp)
	if err != nil {
		return tee.Evidence{}, err
	}
	return tee.Evidence{Kind: tee.KindNitro, Raw: doc}, nil
}

// nsmAttestation is the NSM API's Attestation request.
type nsmAttestation struct {
	UserData  []byte `cbor:"user_data"`
	Nonce     []byte `cbor:"nonce"`
	PublicKey []byte `cbor:"public_key"`
}

func encodeRequest(nonce []byte) ([]byte, error) {
	return cose.Marshal(map[string]nsmAttestation{"Attestation": {Nonce: nonce}})
}

// decodeResponse reads the NSM's answer: {"Attestation": {"document": bstr}}
// or {"Error": "..."}.
func decodeResponse(b []byte) ([]byte, error) {
	var r struct {
		Attestation *struct {
			Document []byte `cbor:"document"`
		} `cbor:"Attestation"`
		Error *string `cbor:"Error"`
	}
	if err := cose.DecMode.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("nitro: NSM response: %w", err)
	}
	switch {
	case r.Error != nil:
		return nil, fmt.Errorf("nitro: NSM refused the attestation request: %s", *r.Error)
	case r.Attestation == nil || len(r.Attestation.Document) == 0:
		return nil, errors.New("nitro: NSM response holds no attestation document")
	}
	return r.Attestation.Document, nil
}
