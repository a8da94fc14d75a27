package reliability

import (
	"fmt"
	"time"
)

// skewCase is one clock-skew run: the coordinator's clock and one
// participant's clock are shifted; within the bound every participant is
// included, outside it the skewed participant is left out cleanly.
type skewCase struct {
	name        string
	coord, part time.Duration
	// within: the skewed participant must be included; otherwise it must
	// not be, and the round must still publish with the others.
	within bool
}

func skewCases(c *faultCtx) []skewCase {
	d := c.plan.Deadline
	cases := []skewCase{
		{"coordinator clock +2s", 2 * time.Second, 0, true},
		{"coordinator clock −2s", -2 * time.Second, 0, true},
		{"participant clock +2s", 0, 2 * time.Second, true},
		{"participant clock −4m (certificates are backdated 5m)", 0, -4 * time.Minute, true},
		{"participant clock −6m (beyond the 5m backdating: TLS refuses)", 0, -6 * time.Minute, false},
		{fmt.Sprintf("participant clock +%s (beyond the round deadline: it gives up)", 2*d), 0, 2 * d, false},
	}
	if c.plan.Name != "full" {
		return []skewCase{cases[1], cases[3], cases[4]}
	}
	return cases
}

// clockSkew runs the skew cases: three participants with min 2, one of
// them ("skewed") with its clock shifted.
func clockSkew(c *faultCtx) []Row {
	var rows []Row
	for _, sc := range skewCases(c) {
		row := Row{Section: "fault", Name: "clock skew: " + sc.name, Tried: 1}
		if err := runSkew(c, sc); err != nil {
			row.Err = err.Error()
		} else {
			row.Held = 1
			if sc.within {
				row.Detail = "round published with every participant"
			} else {
				row.Detail = "skewed participant left out, round published with the others"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func runSkew(c *faultCtx, sc skewCase) error {
	f, honest, err := honestFed(c, 2, []string{"skewed"}, 2, func(s *FedSpec) { s.CoordSkew = sc.coord })
	if err != nil {
		return err
	}
	defer f.Close()
	sk, err := f.StartSwarm("skewed", []string{"skewed"}, SwarmSpec{Seed: 3, ChunkSize: 16 << 10, Skew: sc.part})
	if err != nil {
		return err
	}
	st, err := f.waitPublishedAfter(0, 4*c.plan.Deadline+time.Minute)
	if err != nil {
		return err
	}
	got := includedIn(st, "skewed")
	switch {
	case sc.within && (!got || included(st) != 3):
		return fmt.Errorf("round %d published with %d included (skewed included: %v)", st.GetRound(), included(st), got)
	case !sc.within && (got || included(st) != 2):
		return fmt.Errorf("round %d published with %d included (skewed included: %v)", st.GetRound(), included(st), got)
	}
	return c.finish(f, honest, sk)
}
