// Package cli implements the confed command-line tool.
package cli
