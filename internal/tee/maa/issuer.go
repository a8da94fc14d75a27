package maa

import "errors"

// ErrNoIssuer says why no MAA issuer exists in confed.
var ErrNoIssuer = errors.New("azure-maa: tokens are issued by the Azure Attestation service, not by local hardware: this build does not call it; run the aggregator on SEV-SNP or SGX directly, or obtain a token with Azure's attestation client and verify it with confed attest verify")
