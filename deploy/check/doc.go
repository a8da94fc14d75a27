// Package check holds the tests of confed's deployment files (deploy/):
// every Kubernetes manifest, kustomize overlay and the Helm chart's rendered
// output decode strictly into Kubernetes API types and keep the security
// invariants; every committed attestation policy parses as the daemons parse
// it; the Dockerfiles follow the rules that matter. It is its own module so
// that the Kubernetes, kustomize and Helm libraries stay out of the
// binaries' module.
package check
