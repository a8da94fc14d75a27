// Package dashboard is the coordinator's operator dashboard: an HTTPS
// server, separate from the gRPC listener, that shows the federation's
// rounds, participants, attestation and ledger to an operator in a browser
// and as JSON under /api/.
//
// Nothing is open by default. Every request needs either a client
// certificate of the federation CA with the operator role, or the operator
// token (a bearer header, or the HttpOnly cookie the login page sets). Data
// endpoints are GET-only; the login and logout forms check the request's
// Origin. The pages, scripts and styles are embedded in the binary; charts
// are SVG drawn by the page's own script, so the dashboard needs no network
// access beyond the coordinator.
//
// The package does not import the coordinator: the coordinator hands it a
// [Source] of read-only snapshots (coordinator/view*.go).
package dashboard
