// Package e2e holds end-to-end tests that run a whole federation in one
// process: a coordinator, an aggregator and participants talking real gRPC
// over real TLS on loopback, with a real bbolt file.
package e2e
