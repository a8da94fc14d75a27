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

// ringIngest decodes a U32 safetensors update into a staging buffer while
// hashing it.
type ringIngest struct {
	dec      *model.StreamDecoder
	buf      []uint32
	h        hash.Hash
	received int64
}

func newRingIngest(spec model.Spec, buf []uint32) *ringIngest {
	r := &ringIngest{buf: buf, h: sha256.New()}
	r.dec = model.NewRawStreamDecoder(spec, model.U32, model.Limits{MaxTotalBytes: model.SafetensorsSizeOf(spec, model.U32)},
		func(off int, raw []byte) error {
			for i := 0; i+4 <= len(raw); i += 4 {
				r.buf[off+i/4] = binary.LittleEndian.Uint32(raw[i:])
			}
			return nil
		})
	return r
}

func (r *ringIngest) write(p []byte) error {
	r.h.Write(p)
	r.received += int64(len(p))
	if _, err := r.dec.Write(p); err != nil {
		return fmt.Errorf("%s: %w", fedavg.ReasonWrongShape, err)
	}
	return nil
}

// finish checks completeness, the declared hash, and that every coordinate
// is within what the clip range allows for this weight.
func (r *ringIngest) finish(declared []byte, weight uint64, p fixedpoint.Params) ([32]byte, error) {
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
	if i := fixedpoint.DefaultKernel32.OutOfRange(r.buf, uint32(bound)); i >= 0 {
		return sum, fmt.Errorf("%s: coordinate %d is beyond the clip range for %d examples", ReasonOutOfRange, i, weight)
	}
	return sum, nil
}

// receiveRing ingests a fixed-point update.
func (s *Server) receiveRing(ctx context.Context, rs *roundState, name string, h *confedv1.UpdateHeader, srv confedv1.Aggregator_SubmitUpdateServer) *confedv1.SubmitUpdateResponse {
	buf, err := rs.ringPool.Get(ctx)
	if err != nil {
		return s.report(rs, name, h, nil, fmt.Errorf("waiting for a staging buffer: %w", err))
	}
	defer rs.ringPool.Put(buf)
	in := newRingIngest(rs.spec, buf)
	if err := s.openStream(rs, name, h, srv, in.write); err != nil {
		return s.report(rs, name, h, nil, err)
	}
	p := ringParams(rs.task.GetParams().GetFixedPoint())
	sum, err := in.finish(h.GetUpdateSha256(), h.GetNumExamples(), p)
	if err != nil {
		return s.report(rs, name, h, nil, err)
	}
	return s.report(rs, name, h, &outcome{sha: sum, bytes: in.received,
		fold: func(c *confedv1.Contribution) error { return rs.foldRing(c, buf) }}, nil)
}

// simd32 is the ring kernel with the vectorised add (aggregator/kernels);
// the range check stays generic.
type simd32 struct {
	fixedpoint.GenericKernel[uint32]
}

// Add implements fixedpoint.Kernel.
func (simd32) Add(dst, src []uint32) { kernels.AddU32(dst, src) }

func init() { fixedpoint.DefaultKernel32 = simd32{} }
