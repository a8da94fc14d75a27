package fedavg

import (
	"github.com/confed/confed/aggregator/kernels"

	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"strings"
	"unsafe"

	"github.com/confed/confed/internal/model"
)

// Limits bounds what an Ingestor accepts.
type Limits struct {
	MaxBytes int64   // largest accepted stream; 0 = unbounded
	MaxNorm  float64 // largest accepted L2 norm of the update (refused once Σv² > MaxNorm²); 0 = unbounded
}

// Staged is an accepted update, decoded into the Ingestor's buffer.
type Staged struct {
	Values []float32 // the buffer passed to NewIngestor, in flat spec order
	Norm   float64   // L2 norm of Values
	SHA256 [32]byte  // hash of the stream's bytes (equal to the declared one)
	Bytes  int64     // stream length (equal to the declared size)
}

// Ingestor validates one update stream as it arrives, decoding it straight
// into a caller-owned buffer of exactly one model's size: no other copy of
// the update is ever held. It checks, as bytes arrive, that the header
// describes the spec in canonical layout, that every value is finite, that
// the stream does not exceed its declared size and that the running L2 norm
// stays within bounds; Finish checks completeness and the hash.
//
// Any error is sticky. After a refusal the buffer holds a partial update and
// must not be used (it can be reused for the next update).
type Ingestor struct {
	spec     model.Spec
	buf      []float32
	dec      *model.StreamDecoder
	hash     hash.Hash
	size     int64 // declared
	sum      []byte
	limits   Limits
	received int64
	sumSq    float64 // running Σ v², in stream order
	maxSq    float64 // MaxNorm², 0 = unbounded
	err      error
	staged   *Staged
}

// NewIngestor prepares to ingest one update of the given spec into buf
// (len(buf) == spec.NumParams(); reused across updates). declaredSize and
// declaredSHA256 are what the participant announced for its stream; the size
// must be the spec's canonical safetensors size. A bad spec, buffer or limits
// is an ordinary error; bad declarations are a *RefusalError.
func NewIngestor(spec model.Spec, buf []float32, declaredSize int64, declaredSHA256 []byte, limits Limits) (*Ingestor, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("fedavg: ingestor: %w", err)
	}
	if n := spec.NumParams(); len(buf) != n {
		return nil, fmt.Errorf("fedavg: ingestor: buffer has %d values, spec needs %d", len(buf), n)
	}
	if limits.MaxBytes < 0 || !(limits.MaxNorm >= 0) || math.IsInf(limits.MaxNorm, 0) {
		return nil, fmt.Errorf("fedavg: ingestor: limits %+v: want MaxBytes ≥ 0 and a finite MaxNorm ≥ 0", limits)
	}
	canonical := model.SafetensorsSize(spec)
	switch {
	case limits.MaxBytes > 0 && declaredSize > limits.MaxBytes:
		return nil, refuse(ReasonTooLarge, fmt.Sprintf("declared size %d exceeds the limit of %d bytes", declaredSize, limits.MaxBytes))
	case declaredSize != canonical:
		return nil, refuse(ReasonSizeMismatch, fmt.Sprintf("declared size %d, the canonical encoding of this spec is %d bytes", declaredSize, canonical))
	case len(declaredSHA256) != sha256.Size:
		return nil, refuse(ReasonHashMismatch, fmt.Sprintf("declared SHA-256 has %d bytes, want %d", len(declaredSHA256), sha256.Size))
	}
	in := &Ingestor{
		spec:   spec,
		buf:    buf,
		hash:   sha256.New(),
		size:   declaredSize,
		sum:    bytes.Clone(declaredSHA256),
		limits: limits,
	}
	if limits.MaxNorm > 0 {
		in.maxSq = limits.MaxNorm * limits.MaxNorm
	}
	// The Ingestor itself caps the stream at declaredSize; the header limit
	// only needs to admit this spec's canonical header.
	hdrLimit := max(canonical-8-4*int64(len(buf)), model.DefaultMaxHeaderBytes)
	// Raw little-endian float32s, decoded by sink straight into buf: no
	// intermediate batch and no second copy.
	in.dec = model.NewRawStreamDecoder(spec, model.F32, model.Limits{MaxHeaderBytes: hdrLimit}, in.sink)
	return in, nil
}

// Write validates and decodes the next chunk of the stream.
func (in *Ingestor) Write(chunk []byte) error {
	if in.err != nil {
		return in.err
	}
	if in.staged != nil {
		return errors.New("fedavg: ingestor: write after Finish")
	}
	// Bytes up to the declared size are decoded before excess is refused, so
	// the reason for a refusal does not depend on how the stream is chunked.
	excess := int64(len(chunk)) > in.size-in.received
	if excess {
		chunk = chunk[:in.size-in.received]
	}
	in.received += int64(len(chunk))
	in.hash.Write(chunk)
	if _, err := in.dec.Write(chunk); err != nil {
		return in.fail(classify(err))
	}
	if excess {
		return in.fail(refuse(ReasonSizeMismatch, fmt.Sprintf("stream longer than its declared %d bytes", in.size)))
	}
	return nil
}

// Finish checks that the stream was complete and matches its declared size
// and hash, and that its norm is within bounds. It returns the accepted
// update; calling it again returns the same result.
func (in *Ingestor) Finish() (*Staged, error) {
	if in.err != nil {
		return nil, in.err
	}
	if in.staged != nil {
		return in.staged, nil
	}
	if err := in.dec.Close(); err != nil {
		return nil, in.fail(classify(err))
	}
	if in.received != in.size {
		return nil, in.fail(refuse(ReasonSizeMismatch, fmt.Sprintf("stream has %d bytes, declared %d", in.received, in.size)))
	}
	var got [32]byte
	in.hash.Sum(got[:0])
	if !bytes.Equal(got[:], in.sum) {
		return nil, in.fail(refuse(ReasonHashMismatch, fmt.Sprintf("stream SHA-256 is %x, declared %x", got, in.sum)))
	}
	in.staged = &Staged{Values: in.buf, Norm: math.Sqrt(in.sumSq), SHA256: got, Bytes: in.received}
	return in.staged, nil
}

// sink receives whole little-endian float32s for buf[off:]: it decodes
// them into buf, checks them and adds their squares to the running norm.
func (in *Ingestor) sink(off int, raw []byte) error {
	n := len(raw) / 4
	if off < 0 || off+n > len(in.buf) {
		return fmt.Errorf("fedavg: ingestor: decoder emitted values [%d, %d) outside the %d-value buffer", off, off+n, len(in.buf))
	}
	values := in.buf[off : off+n]
	decodeF32(values, raw[:4*n])
	// One vectorised pass: the sum of squares up to the first non-finite
	// value. A norm already past the bound before that value decides the
	// reason, as a value-by-value check would. (A refused update leaves buf
	// partly written, which the Ingestor's contract allows.)
	ss, bad := kernels.CheckF32(values)
	in.sumSq += ss
	if in.maxSq > 0 && in.sumSq > in.maxSq {
		return refuse(ReasonNormExceeded, fmt.Sprintf("L2 norm exceeds the bound of %g", in.limits.MaxNorm))
	}
	if bad >= 0 {
		return nonFinite(in.spec, off+bad, float64(values[bad]))
	}
	return nil
}

// littleEndian: this machine stores a float32 as its little-endian bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decodeF32 decodes the little-endian float32s raw (4·len(dst) bytes) into
// dst. Where the machine is little-endian that is a plain copy of the
// bytes (every bit pattern is a float32, so nothing can go wrong), four
// times faster than the value-by-value loop it takes elsewhere.
func decodeF32(dst []float32, raw []byte) {
	if len(dst) == 0 {
		return
	}
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), raw)
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
}

func (in *Ingestor) fail(err error) error {
	in.err = err
	return err
}

// nonFinite describes the non-finite value at flat index i.
func nonFinite(spec model.Spec, i int, v float64) *RefusalError {
	what := "NaN"
	switch {
	case math.IsInf(v, 1):
		what = "+Inf"
	case math.IsInf(v, -1):
		what = "-Inf"
	}
	name, elem, _ := spec.Locate(i)
	return refuse(ReasonNonFinite, fmt.Sprintf("tensor %q element %d is %s", name, elem, what))
}

// classify maps a StreamDecoder error to a refusal.
func classify(err error) error {
	var re *RefusalError
	if errors.As(err, &re) {
		return re
	}
	detail := strings.TrimPrefix(err.Error(), "safetensors: ")
	switch {
	case errors.Is(err, model.ErrTruncated):
		return refuse(ReasonTruncated, strings.TrimPrefix(detail, model.ErrTruncated.Error()+": "))
	case errors.Is(err, model.ErrTooLarge):
		return refuse(ReasonTooLarge, detail)
	case errors.Is(err, model.ErrTooLong):
		return refuse(ReasonSizeMismatch, detail)
	case errors.Is(err, model.ErrSpecMismatch), errors.Is(err, model.ErrMalformed), errors.Is(err, model.ErrUnsupportedDtype):
		return refuse(ReasonWrongShape, detail)
	}
	return fmt.Errorf("fedavg: ingestor: %w", err)
}
