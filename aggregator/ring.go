package aggregator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/confed/confed/aggregator/fedavg"
	"github.com/confed/confed/aggregator/kernels"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// ReasonOutOfRange refuses a ring update with a coordinate beyond the
// clip range its weight allows (it could wrap the sum).
const ReasonOutOfRange = "out_of_range"

// ringParams are the round's fixed-point parameters.
func ringParams(fp *confedv1.FixedPoint) fixedpoint.Params {
	return fixedpoint.FromWire(fp.GetBits(), fp.GetClip(), fp.GetScale(), fp.GetMaxWeight(), fp.GetMaxParticipants())
}

// ringWord is an element of the 32- or 64-bit ring.
type ringWord interface{ uint32 | uint64 }

// ringOf is a fixed-point round's staging buffers and ring arithmetic, for
// one word size: the dtype of its updates and the kernel of its range check.
type ringOf[T ringWord] struct {
	pool   *fedavg.Pool[T]
	dtype  model.Dtype
	kernel func() fixedpoint.Kernel[T]
	fold   func(rs *roundState, c *confedv1.Contribution, q []T) error
}

var (
	ring32 = ringOf[uint32]{dtype: model.U32, kernel: func() fixedpoint.Kernel[uint32] { return fixedpoint.DefaultKernel32 },
		fold: (*roundState).foldRing}
	ring64 = ringOf[uint64]{dtype: model.U64, kernel: func() fixedpoint.Kernel[uint64] { return fixedpoint.DefaultKernel64 },
		fold: (*roundState).foldRing64}
)

// ringIngest decodes a U32 or U64 safetensors update into a staging buffer
// while hashing it.
type ringIngest[T ringWord] struct {
	dec      *model.StreamDecoder
	buf      []T
	h        hash.Hash
	received int64
}

func newRingIngest[T ringWord](spec model.Spec, buf []T, dtype model.Dtype) *ringIngest[T] {
	r := &ringIngest[T]{buf: buf, h: sha256.New()}
	size := dtype.Size()
	r.dec = model.NewRawStreamDecoder(spec, dtype, model.Limits{MaxTotalBytes: model.SafetensorsSizeOf(spec, dtype)},
		func(off int, raw []byte) error {
			for i := 0; i+size <= len(raw); i += size {
				if size == 4 {
					r.buf[off+i/4] = T(binary.LittleEndian.Uint32(raw[i:]))
				} else {
					r.buf[off+i/8] = T(binary.LittleEndian.Uint64(raw[i:]))
				}
			}
			return nil
		})
	return r
}

func (r *ringIngest[T]) write(p []byte) error {
	r.h.Write(p)
	r.received += int64(len(p))
	if _, err := r.dec.Write(p); err != nil {
		return fmt.Errorf("%s: %w", fedavg.ReasonWrongShape, err)
	}
	return nil
}

// finish checks completeness, the declared hash, and that every coordinate
// is within what the clip range allows for this weight.
func (r *ringIngest[T]) finish(declared []byte, weight uint64, p fixedpoint.Params, k fixedpoint.Kernel[T]) ([32]byte, error) {
	var sum [32]byte
	if err := r.dec.Close(); err != nil {
		return sum, fmt.Errorf("%s: %w", fedavg.ReasonTruncated, err)
	}
	copy(sum[:], r.h.Sum(nil))
	if string(sum[:]) != string(declared) {
		return sum, fmt.Errorf("%s: stream SHA-256 is %x, declared %x", fedavg.ReasonHashMismatch, sum, declared)
	}
	bound, ok := p.MaxAbs(weight)
	if !ok || weight > p.MaxWeight {
		return sum, fmt.Errorf("%s: weight %d exceeds fixed_point.max_weight %d", fedavg.ReasonBadWeight, weight, p.MaxWeight)
	}
	if i := k.OutOfRange(r.buf, T(bound)); i >= 0 {
		return sum, fmt.Errorf("%s: coordinate %d is beyond the clip range for %d examples", ReasonOutOfRange, i, weight)
	}
	return sum, nil
}

// receiveRing ingests a fixed-point update into a staging buffer of ring
// g (the round's 32- or 64-bit ring).
func receiveRing[T ringWord](s *Server, g ringOf[T], ctx context.Context, rs *roundState, name string, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer) *confedv1.SubmitUpdateResponse {
	buf, err := g.pool.Get(ctx)
	if err != nil {
		return s.report(rs, name, h, nil, fmt.Errorf("waiting for a staging buffer: %w", err))
	}
	release := func() { _ = g.pool.Put(buf) }
	in := newRingIngest(rs.spec, buf, g.dtype)
	var sum [32]byte
	err = grantStaging(srv)
	if err == nil {
		err = s.openStream(rs, name, h, srv, in.write)
	}
	if err == nil {
		sum, err = in.finish(h.GetUpdateSha256(), h.GetNumExamples(), ringParams(rs.task.GetParams().GetFixedPoint()), g.kernel())
	}
	if err != nil {
		release()
		return s.report(rs, name, h, nil, err)
	}
	return s.report(rs, name, h, &outcome{sha: sum, bytes: in.received,
		fold:    func(c *confedv1.Contribution) error { return g.fold(rs, c, buf) },
		release: release}, nil)
}

// updateDtype is the element type of the round's updates: float32, or the
// ring's words in a fixed-point round.
func (r *roundState) updateDtype() model.Dtype {
	switch {
	case r.ring64 != nil:
		return model.U64
	case r.ring != nil:
		return model.U32
	}
	return model.F32
}

// receiveFixedPoint ingests an update of the round's ring.
func (s *Server) receiveFixedPoint(ctx context.Context, rs *roundState, name string, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer) *confedv1.SubmitUpdateResponse {
	if rs.ring64 != nil {
		g := ring64
		g.pool = rs.ringPool64
		return receiveRing(s, g, ctx, rs, name, h, srv)
	}
	g := ring32
	g.pool = rs.ringPool
	return receiveRing(s, g, ctx, rs, name, h, srv)
}

// simd32 is the ring kernel with the vectorised add (aggregator/kernels);
// the range check stays generic.
type simd32 struct {
	fixedpoint.GenericKernel[uint32]
}

// Add implements fixedpoint.Kernel.
func (simd32) Add(dst, src []uint32) { kernels.AddU32(dst, src) }

func init() { fixedpoint.DefaultKernel32 = simd32{} }
