package secagg

import (
	"bytes"
	"crypto/ecdh"
	"fmt"
	"slices"

	"github.com/confed/confed/internal/fixedpoint"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// finish reconstructs the survivors' self-mask seeds and the dropped
// participants' mask keys from t shares each, checks each against its
// commitment or advertised public key, and removes the masks from the sum.
func (s *Server) finish() error {
	if err := s.tooFew("revealed shares", len(s.reveals)); err != nil {
		return err
	}
	selfShares, keyShares := s.collectShares()
	for _, i := range s.survivors {
		seed, err := s.reconstruct(i, selfShares[i])
		if err != nil {
			return err
		}
		if !bytes.Equal(commitment(seed, s.cfg.Session, i), s.commitments[i]) {
			return refuse(ReasonBadReconstruct, "self-mask seed of %s does not match its commitment", s.cfg.Peers[i].Name)
		}
		k, err := selfMaskKey(seed, s.cfg.Session, i)
		clear(seed)
		if err != nil {
			return err
		}
		if err := s.masker.apply(s.acc, k, false); err != nil {
			return err
		}
	}
	for _, j := range s.droppedWithMasks() {
		if err := s.removePairMasks(j, keyShares[j]); err != nil {
			return err
		}
	}
	return s.setResult()
}

type heldShares struct {
	ids    []uint32
	shares [][]byte
}

// collectShares groups the revealed shares by owner and kind.
func (s *Server) collectShares() (self, key map[uint32]*heldShares) {
	self, key = map[uint32]*heldShares{}, map[uint32]*heldShares{}
	holders := slices.Sorted(func(yield func(uint32) bool) {
		for id := range s.reveals {
			if !yield(id) {
				return
			}
		}
	})
	for _, h := range holders {
		for _, r := range s.reveals[h] {
			m := key
			if r.GetKind() == confedv1.SecAggShareKind_SEC_AGG_SHARE_KIND_SELF_MASK {
				m = self
			}
			hs := m[r.GetOwner()]
			if hs == nil {
				hs = &heldShares{}
				m[r.GetOwner()] = hs
			}
			hs.ids = append(hs.ids, h)
			hs.shares = append(hs.shares, r.GetShare())
		}
	}
	return self, key
}

// reconstruct combines the first t shares of owner's secret.
func (s *Server) reconstruct(owner uint32, hs *heldShares) ([]byte, error) {
	t := s.cfg.Threshold
	if hs == nil || len(hs.ids) < t {
		n := 0
		if hs != nil {
			n = len(hs.ids)
		}
		return nil, refuse(ReasonTooFew, "%d shares of %s's secret were revealed, fewer than the threshold %d", n, s.cfg.Peers[owner].Name, t)
	}
	secret, err := combine(hs.ids[:t], hs.shares[:t])
	if err != nil {
		return nil, refuse(ReasonBadReconstruct, "%s's secret: %v", s.cfg.Peers[owner].Name, err)
	}
	return secret, nil
}

// droppedWithMasks lists the participants that shared keys but sent no
// input, and whose pairwise masks some survivor added.
func (s *Server) droppedWithMasks() []uint32 {
	var out []uint32
	for j := range s.commitments {
		if s.inputs[j] {
			continue
		}
		for _, i := range s.survivors {
			if contains(s.delivered[i], j) {
				out = append(out, j)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// removePairMasks reconstructs dropped participant j's mask key and removes
// the pairwise mask each survivor added for j.
func (s *Server) removePairMasks(j uint32, hs *heldShares) error {
	raw, err := s.reconstruct(j, hs)
	if err != nil {
		return err
	}
	sk, err := ecdh.X25519().NewPrivateKey(raw)
	clear(raw)
	if err != nil {
		return refuse(ReasonBadReconstruct, "mask key of %s: %v", s.cfg.Peers[j].Name, err)
	}
	if !sk.PublicKey().Equal(s.adverts[j].maskPub) {
		return refuse(ReasonBadReconstruct, "mask key of %s does not match its advertised public key", s.cfg.Peers[j].Name)
	}
	for _, i := range s.survivors {
		if !contains(s.delivered[i], j) {
			continue
		}
		secret, err := sk.ECDH(s.adverts[i].maskPub)
		if err != nil {
			return wrapAgree(err)
		}
		k, err := pairMaskKey(secret, s.cfg.Session, i, j)
		if err != nil {
			return err
		}
		// i added +PRG if i < j, −PRG otherwise: undo it.
		if err := s.masker.apply(s.acc, k, i > j); err != nil {
			return err
		}
	}
	return nil
}

// setResult checks the unmasked total weight and records the result.
func (s *Server) setResult() error {
	d := s.cfg.Length
	w := uint64(s.acc[d])
	if w < uint64(len(s.survivors)) || w > uint64(len(s.survivors))*s.cfg.Params.MaxWeight {
		return refuse(ReasonBadReconstruct, "unmasked total weight %d is impossible for %d survivors", w, len(s.survivors))
	}
	s.result = &Result{Sum: s.acc[:d:d], TotalWeight: w, Survivors: slices.Clone(s.survivors)}
	s.acc = nil
	return nil
}

// Mean returns the weighted mean of the survivors' (clipped) updates:
// signed(Sum[i]) / (Scale · TotalWeight), as fixedpoint.Sum32.Mean reads
// its sum. p must be the session's Params.
func (r *Result) Mean(p fixedpoint.Params) ([]float64, error) {
	if r.TotalWeight == 0 {
		return nil, fmt.Errorf("secagg: mean of an empty result")
	}
	d := p.Scale * float64(r.TotalWeight)
	out := make([]float64, len(r.Sum))
	for i, v := range r.Sum {
		out[i] = float64(int32(v)) / d
	}
	return out, nil
}
