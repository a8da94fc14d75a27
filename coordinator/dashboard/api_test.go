package dashboard

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/confed/confed/internal/pki"
)

// TestAPIPrivacyAndNeighbours: the JSON API carries the privacy budget
// (spent, budget, δ, z), each round's share and duration fields, and the
// rounds a round page may link to.
func TestAPIPrivacyAndNeighbours(t *testing.T) {
	p := newTestPKI(t, testFederation)
	op := p.issue(t, pki.RoleOperator, "alice")
	srv := startServer(t, p, privateSource(), TokenFromSecret(testToken))
	c := client(t, p, &op)
	var ov struct {
		Privacy struct {
			Spent    *float64          `json:"spent"`
			Budget   *float64          `json:"budget"`
			Settings map[string]string `json:"settings"`
		} `json:"privacy"`
		Rounds []struct {
			Privacy *struct {
				EpsilonRound float64 `json:"epsilon_round"`
				EpsilonTotal float64 `json:"epsilon_total"`
			} `json:"privacy"`
			Duration   *float64 `json:"duration_seconds"`
			Collection *float64 `json:"collection_seconds"`
			FinishedAt string   `json:"finished_at"`
		} `json:"rounds"`
	}
	getJSON(t, c, srv.URL+"/api/overview", &ov)
	if ov.Privacy.Spent == nil || *ov.Privacy.Spent != 1.5 || ov.Privacy.Budget == nil || *ov.Privacy.Budget != 8 ||
		ov.Privacy.Settings["delta"] != "1e-05" || ov.Privacy.Settings["noise_multiplier"] != "1.1" {
		t.Errorf("overview privacy %+v", ov.Privacy)
	}
	if len(ov.Rounds) != 3 || ov.Rounds[0].Privacy != nil || ov.Rounds[2].Privacy == nil || ov.Rounds[2].Privacy.EpsilonRound != 1.5 {
		t.Fatalf("rounds %+v", ov.Rounds)
	}
	if r := ov.Rounds[2]; r.Duration == nil || *r.Duration != 25 || r.Collection == nil || *r.Collection != 10 || r.FinishedAt == "" {
		t.Errorf("round 2 times %+v", r)
	}
	for n, want := range map[int][2]string{0: {"", "1"}, 1: {"0", "2"}, 2: {"1", ""}} {
		var d map[string]any
		getJSON(t, c, srv.URL+"/api/rounds/"+strconv.Itoa(n), &d)
		got := [2]string{}
		for i, k := range []string{"previous_round", "next_round"} {
			if v, ok := d[k]; ok {
				got[i] = strconv.FormatFloat(v.(float64), 'f', -1, 64)
			}
		}
		if got != want {
			t.Errorf("round %d: previous, next = %q, want %q", n, got, want)
		}
	}
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp := get(t, c, u, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}
