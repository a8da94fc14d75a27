package aggregator

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/confed/confed/internal/logging"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/modelio"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// publish signs m as the result of task t and streams it to the coordinator;
// masked says that m was unmasked from SecAgg+ inputs (the manifest says so).
func (s *Server) publish(ctx context.Context, t *confedv1.AggregationTask, m *model.Model, parent []byte, contribs []*confedv1.Contribution, priv *confedv1.PrivacyApplied, masked bool) ([32]byte, error) {
	size, sum, err := modelio.Digest(m)
	if err != nil {
		return sum, err
	}
	mf := &confedv1.ModelManifest{
		Federation: s.federation, Round: t.GetRound(), ModelSha256: sum[:], ModelSize: uint64(size),
		ParentSha256: parent, Contributions: contribs, ConfigSha256: t.GetConfigSha256(),
		TeeKind: s.claims.Kind, Insecure: s.claims.Insecure, CreatedAt: timestamppb.Now(),
		Strategy: strategyName(t.GetParams(), masked), Privacy: priv,
		Tree: s.tree.manifestRecords(t.GetRound()),
	}
	signed, err := s.signer.Sign(mf)
	if err != nil {
		return sum, err
	}
	up, err := s.ctrl.PublishAggregate(ctx)
	if err != nil {
		return sum, fmt.Errorf("publishing round %d: %w", t.GetRound(), err)
	}
	chunk := int(s.cfg.ChunkSize)
	header := &confedv1.ModelHeader{Signed: signed, Size: uint64(size), ChunkSize: uint32(chunk)}
	if err := up.Send(&confedv1.PublishRequest{Msg: &confedv1.PublishRequest_Header{Header: header}}); err != nil {
		return sum, fmt.Errorf("publishing round %d: %w", t.GetRound(), err)
	}
	_, err = modelio.Send(m, chunk, func(c *confedv1.Chunk) error {
		return up.Send(&confedv1.PublishRequest{Msg: &confedv1.PublishRequest_Chunk{Chunk: c}})
	})
	if err != nil {
		return sum, fmt.Errorf("publishing round %d: %w", t.GetRound(), err)
	}
	if _, err := up.CloseAndRecv(); err != nil {
		return sum, fmt.Errorf("coordinator refused the aggregate of round %d: %w", t.GetRound(), err)
	}
	s.log.Info("aggregate published", logging.KeyRound, t.GetRound(), logging.KeyModelSHA, fmt.Sprintf("%x", sum),
		"contributions", len(contribs), "strategy", mf.GetStrategy())
	return sum, nil
}

// strategyName names how the model was made, e.g. "fedavg",
// "fedavg(fixed-point 32, secagg+)" or "median+fedadam", for the manifest
// and the ledger.
func strategyName(p *confedv1.AggregationParams, secagg bool) string {
	rule := p.GetStrategy()
	if rule == "" {
		rule = "fedavg"
	}
	if fp := p.GetFixedPoint(); fp != nil {
		mask := ""
		if secagg {
			mask = ", secagg+"
		}
		rule += fmt.Sprintf("(fixed-point %d%s)", fp.GetBits(), mask)
	}
	if opt := p.GetServerOptimizer().GetName(); opt != "" && opt != "fedavg" {
		rule += "+" + opt
	}
	return rule
}
