package cli

import (
	"crypto/sha256"
	"io"
)

func hashReader(r io.Reader) ([32]byte, error) {
	var out [32]byte
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return out, err
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}
