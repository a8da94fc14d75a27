package secagg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ReceiveStream takes a streamed masked input: the signed header (from
// Client.MaskedInputStream) and a reader of the encoded vector, exactly
// 4·(Length+1) bytes. It is StageStream followed by Commit.
func (s *Server) ReceiveStream(header []byte, r io.Reader, staging []uint32) error {
	p, err := s.StageStream(header, r, staging)
	if err != nil {
		return err
	}
	return p.Commit()
}

// Pending is a streamed masked input whose signed header has been checked.
// Read stages its vector; Commit adds the staged vector to the sum.
type Pending struct {
	s      *Server
	id     uint32
	name   string
	length int
	sha    []byte
	vec    []uint32
	header []byte
}

// Sender is the roster id of the participant whose input this is.
func (p *Pending) Sender() uint32 { return p.id }

// SHA256 is the hash of the masked vector's bytes that the header signs.
func (p *Pending) SHA256() []byte { return p.sha }

// StageStream verifies a streamed masked input without adding it: the
// header as Receive does (and that it announces a stream, ReasonMalformed),
// then the vector, read one chunk at a time into staging (Length+1
// elements; nil allocates) while it is hashed; a vector whose length or
// SHA-256 does not match the header is refused (ReasonHashMismatch). The
// caller adds it with Commit (e.g. once the coordinator has included the
// submission) or drops the Pending; either way staging is the caller's
// again afterwards. It is BeginStream followed by Read.
func (s *Server) StageStream(header []byte, r io.Reader, staging []uint32) (*Pending, error) {
	p, err := s.BeginStream(header)
	if err != nil {
		return nil, err
	}
	if err := p.Read(r, staging); err != nil {
		return nil, err
	}
	return p, nil
}

// BeginStream checks the signed header of a streamed masked input (as
// Receive does, and that it announces a stream) and returns the Pending
// input whose vector Read then takes. Read touches none of the server's
// state, so a caller that serialises the Server's methods with a lock can
// read a long stream without holding it; Commit must then run under the
// lock again.
func (s *Server) BeginStream(header []byte) (*Pending, error) {
	m, id, err := s.admit(header)
	if err != nil {
		return nil, err
	}
	if s.stage != StageMaskedInput || len(m.body.GetMaskedInput().GetSha256()) != sha256.Size {
		return nil, refuse(ReasonMalformed, "%s's header announces no streamed masked input", s.cfg.Peers[id].Name)
	}
	return &Pending{s: s, id: id, name: s.cfg.Peers[id].Name, length: s.cfg.Length + 1,
		sha: m.body.GetMaskedInput().GetSha256(), header: header}, nil
}

// Read reads the vector, exactly 4·(Length+1) bytes, one chunk at a time
// into staging (Length+1 elements; nil allocates) while hashing it; a
// vector whose length or SHA-256 does not match the header is refused
// (ReasonHashMismatch).
func (p *Pending) Read(r io.Reader, staging []uint32) error {
	if staging == nil {
		staging = make([]uint32, p.length)
	}
	if len(staging) != p.length {
		return fmt.Errorf("secagg: staging buffer of %d elements, want %d", len(staging), p.length)
	}
	if err := readVector(staging, r, p.sha); err != nil {
		return refuse(ReasonHashMismatch, "%s's masked input: %v", p.name, err)
	}
	p.vec = staging
	return nil
}

// Commit adds the staged input to the sum, one chunk at a time. It refuses
// (ReasonReplay, ReasonOutOfStage, ReasonFailed) if the sender's input was
// added meanwhile or the stage has moved on, and fails if nothing was
// staged.
func (p *Pending) Commit() error {
	s := p.s
	if p.vec == nil {
		return errors.New("secagg: commit of an input that was not read")
	}
	if _, _, err := s.admit(p.header); err != nil {
		return err
	}
	s.ensureAcc()
	for lo := 0; lo < len(s.acc); lo += chunkWords {
		hi := min(lo+chunkWords, len(s.acc))
		s.masker.kernel.Add(s.acc[lo:hi], p.vec[lo:hi])
	}
	s.inputs[p.id] = true
	return nil
}

// readVector reads len(dst) little-endian uint32s from r in chunks, checks
// that r ends there and that the bytes hash to want.
func readVector(dst []uint32, r io.Reader, want []byte) error {
	h := sha256.New()
	buf := make([]byte, 4*min(len(dst), chunkWords))
	for off := 0; off < len(dst); {
		n := min(len(buf)/4, len(dst)-off)
		if _, err := io.ReadFull(r, buf[:4*n]); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", 4*off, 4*len(dst), err)
		}
		h.Write(buf[:4*n])
		for i := range n {
			dst[off+i] = binary.LittleEndian.Uint32(buf[4*i:])
		}
		off += n
	}
	if k, _ := io.ReadFull(r, make([]byte, 1)); k != 0 {
		return fmt.Errorf("more than %d bytes", 4*len(dst))
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return errors.New("SHA-256 does not match the signed header")
	}
	return nil
}
