package provider

import (
	"testing"
	"time"
)

// Every kind a configuration can name has a policy section, and no
// section is unreachable.
func TestSectionsCoverKinds(t *testing.T) {
	for _, r := range kindRules {
		k := Policy{TEE: r.kind}.Kind()
		if _, ok := sections[k]; !ok {
			t.Errorf("kind %q has no policy section", r.kind)
		}
	}
	if len(sections) != len(kindRules) {
		t.Errorf("%d sections for %d kinds", len(sections), len(kindRules))
	}
}

func TestHooksNow(t *testing.T) {
	own := func() time.Time { return time.Unix(1, 0) }
	all := func() time.Time { return time.Unix(2, 0) }
	for _, tc := range []struct {
		name    string
		h       Hooks
		own     func() time.Time
		want    time.Time
		wantNil bool
	}{
		{"hooks' Now wins", Hooks{Now: all}, own, time.Unix(2, 0), false},
		{"kind's own clock", Hooks{}, own, time.Unix(1, 0), false},
		{"neither: nil, for time.Now", Hooks{}, nil, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.h.now(tc.own)
			if tc.wantNil {
				if got != nil {
					t.Fatal("want nil")
				}
				return
			}
			if !got().Equal(tc.want) {
				t.Fatalf("now() = %s, want %s", got(), tc.want)
			}
		})
	}
}
