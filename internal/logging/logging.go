// Package logging sets up log/slog for confed's daemons and defines the
// attribute keys they share, so that logs can be searched by a fixed
// vocabulary. Model values, masks, keys and patient data are never logged.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Attribute keys used across confed's logs.
const (
	KeyComponent   = "component"
	KeyRound       = "round"
	KeyState       = "state"
	KeyParticipant = "participant"
	KeyReason      = "reason"
	KeyAddr        = "addr"
	KeyModelSHA    = "model_sha256"
	KeyBytes       = "bytes"
	KeyDuration    = "duration"
	KeyTEE         = "tee"
	KeyInsecure    = "insecure"
	KeyErr         = "err"
	KeyPeer        = "peer"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format ("text" or "json").
func New(w io.Writer, level, format, component string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
	return slog.New(h).With(KeyComponent, component), nil
}

// Discard is a logger that drops everything (tests).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
