package reliability

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/modelio"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// poisonScale is what the poisoning participant sets every weight and the
// bias of its update to (honest updates stay below 0.01).
const poisonScale = 1e4

// poisonBound is the largest |weight| a robust rule may publish after the
// poisoned round: honest updates move the weights by less than 0.01 a round.
const poisonBound = 1.0

type poisonCase struct {
	strategy, yaml string
	robust         bool
}

var poisonCases = []poisonCase{
	{"fedavg (control: the attack must work)", "", false},
	{"median", "aggregation:\n  strategy: median\n", true},
	{"trimmed_mean", "aggregation:\n  strategy: trimmed_mean\n  trim_fraction: 0.2\n", true},
	{"multikrum", "aggregation:\n  strategy: multikrum\n  byzantine: 1\n", true},
}

// modelPoisoning runs, for each rule, five honest participants and one
// that sends a huge-norm update from round 2 on, and checks the published
// model of round 2: bounded for the robust rules, blown up for FedAvg.
func modelPoisoning(c *faultCtx) []Row {
	var rows []Row
	for _, pc := range poisonCases {
		row := Row{Section: "hostile", Name: "model poisoning (update of norm ~1e4·√P) vs " + pc.strategy, Tried: 1}
		w, err := runPoison(c, pc)
		switch {
		case err != nil:
			row.Err = err.Error()
		case pc.robust && w >= poisonBound:
			row.Err = fmt.Sprintf("published max |weight| %.3g, above %g", w, poisonBound)
		case !pc.robust && w < 100:
			row.Err = fmt.Sprintf("control: FedAvg published max |weight| %.3g; the poisoning did not bite", w)
		default:
			row.Held = 1
			row.Detail = fmt.Sprintf("published max |weight| %.3g", w)
		}
		rows = append(rows, row)
	}
	rows = append(rows, krumRefused())
	return rows
}

// krumRefused checks that single Krum, which publishes one participant's
// update as it is, is refused by round-configuration validation.
func krumRefused() Row {
	row := Row{Section: "hostile", Name: "strategy krum (one update published as is)", Tried: 1}
	yaml := fmt.Sprintf(roundYAML, federation, 2, 10, "a, b, c, d, e, f", 6, "1s", "10s",
		"aggregation:\n  strategy: krum\n  byzantine: 1\n", "")
	_, err := roundconfig.Parse("krum.yaml", []byte(yaml))
	if err == nil {
		row.Err = "round configuration accepted"
		return row
	}
	row.Held, row.Detail = 1, "refused by the round configuration: "+trim(oneLine(err.Error()), 120)
	return row
}

func runPoison(c *faultCtx, pc poisonCase) (float64, error) {
	f, honest, err := honestFed(c, 5, []string{"poison"}, 6, func(s *FedSpec) {
		s.Features, s.Aggregation, s.Rounds = 10, pc.yaml, 2
		s.RoundDeadline = time.Minute
	})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bad, err := f.StartSwarm("poison", []string{"poison"}, SwarmSpec{Seed: 11, ChunkSize: 4 << 10,
		PoisonFrom: 2, PoisonScale: poisonScale})
	if err != nil {
		return 0, err
	}
	st, err := f.WaitRoundState(2, 2*time.Minute, published, failed)
	if err != nil {
		return 0, err
	}
	if st.GetState() != published || included(st) != 6 {
		return 0, fmt.Errorf("round 2: %s with %d included: %s", st.GetState(), included(st), st.GetReason())
	}
	w, err := f.maxWeight()
	if err != nil {
		return 0, err
	}
	return w, c.finish(f, honest, bad)
}

// maxWeight downloads and verifies the latest model and returns its
// largest |weight|.
func (f *Fed) maxWeight() (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := f.Op.DownloadModel(ctx, &confedv1.DownloadModelRequest{})
	if err != nil {
		return 0, err
	}
	spec, err := lrSpec(f.Spec.Features)
	if err != nil {
		return 0, err
	}
	d, err := modelio.Receive(ctx, s, modelio.Expect{Federation: federation, Verifier: simulatedVerifier(), Spec: spec})
	if err != nil {
		return 0, fmt.Errorf("downloading the published model: %w", err)
	}
	w, ok := d.Model.Lookup("weight")
	if !ok {
		return 0, fmt.Errorf("published model has no weight tensor")
	}
	m := 0.0
	for _, v := range w.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m, nil
}
