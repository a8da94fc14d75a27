// Package modelio downloads signed models from a gRPC stream and verifies
// them: the manifest's signature and evidence, the expected hash, the size,
// and that the bytes decode into a model of the expected shape.
package modelio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/stream"
	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// ErrUntrusted marks a model whose signer's evidence or signature does not
// meet the verifier's policy.
var ErrUntrusted = errors.New("the model's signer is not trusted")

// Receiver yields the messages of a model download stream; it returns
// io.EOF at the end.
type Receiver interface {
	Recv() (*confedv1.ModelChunk, error)
}

// Expect says what the downloaded model must be.
type Expect struct {
	Federation string
	Verifier   tee.Verifier
	// Spec, if set, is the shape the model must have.
	Spec model.Spec
	// SHA256, if set, is the hash the model must have.
	SHA256 []byte
	// MaxBytes bounds the download.
	MaxBytes int64
	// Alloc, if set along with Spec, allocates the vector that the model
	// is decoded into (by default, a Go slice), and Free gives it back
	// when the download fails. The model of a successful download lives
	// in that vector (Model.Backing), which the caller then owns.
	Alloc func(n int) ([]float32, error)
	Free  func([]float32)
}

// Downloaded is a verified model.
type Downloaded struct {
	Model    *model.Model
	SHA256   [32]byte
	Verified *manifest.Verified
	Signed   *confedv1.SignedManifest
	Size     uint64
}

// Receive reads a whole download stream and verifies it. The model is
// decoded as its bytes arrive, so the raw bytes are never held whole.
func Receive(ctx context.Context, r Receiver, want Expect) (*Downloaded, error) {
	first, err := r.Recv()
	if err != nil {
		return nil, fmt.Errorf("receiving model header: %w", err)
	}
	h := first.GetHeader()
	if h == nil {
		return nil, errors.New("model stream does not start with a header")
	}
	v, err := manifest.Verify(ctx, h.GetSigned(), want.Verifier, want.Federation)
	if err != nil {
		return nil, fmt.Errorf("verifying model manifest: %w: %w", ErrUntrusted, err)
	}
	mf := v.Manifest
	if want.SHA256 != nil && !bytes.Equal(mf.GetModelSha256(), want.SHA256) {
		return nil, fmt.Errorf("model of round %d has hash %x, expected %x", mf.GetRound(), mf.GetModelSha256(), want.SHA256)
	}
	if h.GetSize() != mf.GetModelSize() || (want.MaxBytes > 0 && int64(h.GetSize()) > want.MaxBytes) {
		return nil, fmt.Errorf("model size %d (manifest says %d, limit %d)", h.GetSize(), mf.GetModelSize(), want.MaxBytes)
	}
	m, sum, err := decode(r, int64(h.GetSize()), want)
	if err != nil {
		return nil, fmt.Errorf("model of round %d: %w", mf.GetRound(), err)
	}
	if !bytes.Equal(sum[:], mf.GetModelSha256()) {
		if flat, ok := m.Backing(); ok && want.Spec != nil && want.Alloc != nil && want.Free != nil {
			want.Free(flat)
		}
		return nil, fmt.Errorf("model of round %d: bytes hash to %x, the signed manifest says %x", mf.GetRound(), sum, mf.GetModelSha256())
	}
	return &Downloaded{Model: m, SHA256: sum, Verified: v, Signed: h.GetSigned(), Size: h.GetSize()}, nil
}

func decode(r Receiver, size int64, want Expect) (*model.Model, [32]byte, error) {
	spec := want.Spec
	if spec != nil {
		return decodeFlat(r, size, want)
	}
	var sum [32]byte
	pr, pw := io.Pipe()
	type result struct {
		m   *model.Model
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := model.ReadSafetensors(pr, model.Limits{MaxTotalBytes: size})
		pr.CloseWithError(err)
		done <- result{m, err}
	}()
	h := sha256.New()
	err := copyChunks(r, io.MultiWriter(h, pw), size)
	pw.CloseWithError(err)
	res := <-done
	if err != nil {
		return nil, sum, err
	}
	if res.err != nil {
		return nil, sum, res.err
	}
	if spec != nil {
		if err := spec.Equal(res.m.Spec()); err != nil {
			return nil, sum, fmt.Errorf("unexpected shape: %w", err)
		}
	}
	copy(sum[:], h.Sum(nil))
	return res.m, sum, nil
}

// decodeFlat decodes a model of a known spec as it arrives, into one flat
// vector that backs all its tensors (model.ViewFlat): no second copy of the
// model exists at any time, and the aggregator can update it in place.
func decodeFlat(r Receiver, size int64, want Expect) (m *model.Model, sum [32]byte, err error) {
	spec := want.Spec
	var flat []float32
	if want.Alloc != nil {
		if flat, err = want.Alloc(spec.NumParams()); err != nil {
			return nil, sum, fmt.Errorf("allocating the model: %w", err)
		}
		defer func() {
			if err != nil && want.Free != nil {
				want.Free(flat)
			}
		}()
	} else {
		flat = make([]float32, spec.NumParams())
	}
	dec := model.NewStreamDecoder(spec, model.Limits{MaxTotalBytes: size}, func(off int, values []float32) error {
		copy(flat[off:], values)
		return nil
	})
	h := sha256.New()
	if err := copyChunks(r, io.MultiWriter(h, dec), size); err != nil {
		return nil, sum, err
	}
	if err := dec.Close(); err != nil {
		return nil, sum, err
	}
	if m, err = model.ViewFlat(spec, flat); err != nil {
		return nil, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return m, sum, nil
}

func copyChunks(r Receiver, w io.Writer, size int64) error {
	seq := stream.NewSequence(size)
	for {
		msg, err := r.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("receiving model: %w", err)
		}
		data, err := seq.Accept(msg.GetChunk())
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if seq.Total() != size {
		return fmt.Errorf("truncated: received %d of %d bytes", seq.Total(), size)
	}
	return nil
}
