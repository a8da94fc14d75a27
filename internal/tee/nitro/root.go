package nitro

import (
	"crypto/x509"
	_ "embed"

	"github.com/confed/confed/internal/tee/pinned"
)

// awsRootPEM is the AWS Nitro Enclaves Root-G1 certificate (CN
// aws.nitro-enclaves, valid 2019-10-28 to 2049-10-28), as published by AWS
// in AWS_NitroEnclaves_Root-G1.zip (see "Verifying the root of trust" in
// the Nitro Enclaves user guide). Its SHA-256 fingerprint is RootSHA256; a
// test checks it.
//
//go:embed aws_nitro_enclaves_root_g1.pem
var awsRootPEM []byte

// RootSHA256 is the SHA-256 fingerprint of the DER AWS Nitro root
// certificate that AWS documents.
const RootSHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

// AWSRoot returns the embedded AWS Nitro Enclaves root certificate, after
// checking its fingerprint.
func AWSRoot() (*x509.Certificate, error) {
	return pinned.Root(awsRootPEM, RootSHA256, "nitro", "AWS root")
}
