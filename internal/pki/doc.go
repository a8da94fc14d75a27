// Package pki holds the identities of a confed federation and the TLS
// configuration every confed connection uses.
//
// Each federation has one certificate authority (ECDSA P-256) held by the
// consortium operator. It issues certificates to the coordinator, the
// aggregators, the participants and the operators/auditors. A peer's identity
// is the single URI SAN confed://<federation>/<role>/<name> in its
// certificate.
//
// Every connection is TLS 1.3 with mutual authentication against the
// federation's CA and nothing else: no system roots, no plaintext. After the
// handshake, [PeerIdentity] and [RequireRole] tell a gRPC handler who is
// calling; their errors wrap [ErrUnauthenticated] or [ErrPermissionDenied]
// so handlers can map them to gRPC codes with errors.Is.
//
// All keys are ECDSA P-256, stored as PKCS#8 PEM files with mode 0600.
// Nothing in this package logs or prints key material.
package pki
