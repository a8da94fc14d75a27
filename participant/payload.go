package participant

import (
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/confed/confed/internal/dp"
	"github.com/confed/confed/internal/fixedpoint"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/stream"
	"github.com/confed/confed/internal/submit"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// payload is an update ready to stream: its encoded size and hash (sent in
// the header, before the bytes) and a function that writes the bytes.
type payload struct {
	size  int64
	sha   [32]byte
	write func(io.Writer) error
}

// modelPayload streams a float32 update without holding its encoding.
func modelPayload(m *model.Model) (payload, error) {
	size, sum, err := modelio.Digest(m)
	if err != nil {
		return payload{}, err
	}
	return payload{size: size, sha: sum, write: func(w io.Writer) error {
		_, err := model.WriteSafetensors(w, m)
		return err
	}}, nil
}

// ringPayload quantises the update for fixed-point aggregation: each
// coordinate clipped, multiplied by the example count and the scale, and
// rounded stochastically (with fresh randomness) into Z_{2^32} or
// Z_{2^64}, as the round's fixed_point.bits says.
func ringPayload(upd *model.Model, weight uint64, fp *confedv1.FixedPoint) (payload, error) {
	p := fixedpoint.FromWire(fp.GetBits(), fp.GetClip(), fp.GetScale(), fp.GetMaxWeight(), fp.GetMaxParticipants())
	if weight > p.MaxWeight {
		return payload{}, fmt.Errorf("%d training examples exceed the federation's fixed_point.max_weight (%d)", weight, p.MaxWeight)
	}
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return payload{}, err
	}
	rng := rand.NewChaCha8(seed)
	flat := upd.Flat()
	var data []byte
	dtype := model.U32
	switch p.Bits {
	case 32:
		q := make([]uint32, len(flat))
		if err := fixedpoint.Quantise32(q, flat, weight, p, rng); err != nil {
			return payload{}, fmt.Errorf("quantising the update: %w", err)
		}
		data = fixedpoint.Encode32(q)
	case 64:
		q := make([]uint64, len(flat))
		if err := fixedpoint.Quantise64(q, flat, weight, p, rng); err != nil {
			return payload{}, fmt.Errorf("quantising the update: %w", err)
		}
		data, dtype = fixedpoint.Encode64(q), model.U64
	default:
		return payload{}, fmt.Errorf("fixed_point.bits is %d, this participant quantises to 32 or 64", p.Bits)
	}
	spec := upd.Spec()
	h := sha256.New()
	if _, err := model.WriteRawSafetensors(h, spec, dtype, data); err != nil {
		return payload{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return payload{size: model.SafetensorsSizeOf(spec, dtype), sha: sum, write: func(w io.Writer) error {
		_, err := model.WriteRawSafetensors(w, spec, dtype, data)
		return err
	}}, nil
}

// sendPayload streams the payload's bytes, sealed, without holding them
// whole: the payload writes into a pipe that the sealer reads, and the
// sealed chunks go to the stream's SendMsg without a copy
// (submit.SendSealedStream).
func sendPayload(p payload, s *seal.Sealer, sendMsg func(any) error) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.write(pw)) }()
	defer pr.CloseWithError(io.ErrClosedPipe)
	return submit.SendSealedStream(pr, stream.DefaultChunkSize, s, sendMsg)
}

// localDP clips the update to the round's L2 norm and adds Gaussian noise
// of standard deviation noise_multiplier × clip_norm to every coordinate
// except the feature statistics (unchanged after the statistics round),
// before the update is encoded and sealed: local differential privacy
// (docs/privacy.md). It does nothing unless the round asks for mode local,
// and never touches the statistics round.
func localDP(upd *model.Model, p *confedv1.PrivacyParams, statisticsRound bool) error {
	if p.GetMode() != "local" || statisticsRound {
		return nil
	}
	z, c := p.GetNoiseMultiplier(), p.GetClipNorm()
	if !(z > 0) || math.IsInf(z, 0) || !(c > 0) || math.IsInf(c, 0) {
		return fmt.Errorf("noise multiplier %v and clip norm %v, want positive finite numbers", z, c)
	}
	flat := upd.Flat()
	var skip []dp.Span
	off := 0
	for _, t := range upd.Tensors {
		if t.Name == model.TensorInputMean || t.Name == model.TensorInputSqMean {
			skip = append(skip, dp.Span{Lo: off, Hi: off + len(t.Data)})
		}
		off += len(t.Data)
	}
	if _, _, err := dp.Clip(flat, c, skip); err != nil {
		return err
	}
	src, err := dp.NewSource()
	if err != nil {
		return err
	}
	if err := dp.AddNoise32(flat, z*c, skip, dp.NewGaussian(src)); err != nil {
		return err
	}
	off = 0
	for _, t := range upd.Tensors {
		off += copy(t.Data, flat[off:])
	}
	return nil
}
