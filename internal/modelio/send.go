package modelio

import (
	"fmt"
	"io"

	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/stream"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Send streams m's canonical safetensors encoding in chunks without ever
// holding the whole encoding: the encoder writes into a pipe that the
// chunker reads. It returns the number of bytes sent.
func Send(m *model.Model, chunkSize int, send func(*confedv1.Chunk) error) (int64, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := model.WriteSafetensors(pw, m)
		pw.CloseWithError(err)
	}()
	n, err := stream.Send(pr, chunkSize, send)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the encoder if sending failed
	if err != nil {
		return n, fmt.Errorf("streaming model: %w", err)
	}
	return n, nil
}

// Digest returns the size and SHA-256 of m's canonical encoding, computed by
// encoding into the hash (the encoding is deterministic, so a later Send
// produces exactly these bytes).
func Digest(m *model.Model) (int64, [32]byte, error) {
	size := model.SafetensorsSize(m.Spec())
	if size < 0 {
		return 0, [32]byte{}, fmt.Errorf("model is not encodable")
	}
	return size, model.SHA256(m), nil
}
