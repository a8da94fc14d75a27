package fixedpoint

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// valid32 is a typical 32-bit configuration: 1/65536 resolution, deltas
// clipped to ±1, up to 16 participants of up to 100 examples:
// 16 × 1 × 65536 × 100 = 104857600 < 2^31.
var valid32 = Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 100, MaxParticipants: 16}

func TestValidateFields(t *testing.T) {
	with := func(f func(*Params)) Params { p := valid32; f(&p); return p }
	tests := []struct {
		name string
		p    Params
		want []string // substrings of the error
	}{
		{"bits 16", with(func(p *Params) { p.Bits = 16 }), []string{"Params.Bits = 16", "32 or 64"}},
		{"bits 0", with(func(p *Params) { p.Bits = 0 }), []string{"Params.Bits = 0"}},
		{"clip 0", with(func(p *Params) { p.Clip = 0 }), []string{"Params.Clip = 0", "positive finite"}},
		{"clip negative", with(func(p *Params) { p.Clip = -1 }), []string{"Params.Clip = -1"}},
		{"clip NaN", with(func(p *Params) { p.Clip = math.NaN() }), []string{"Params.Clip = NaN"}},
		{"clip +Inf", with(func(p *Params) { p.Clip = math.Inf(1) }), []string{"Params.Clip = +Inf"}},
		{"scale 0", with(func(p *Params) { p.Scale = 0 }), []string{"Params.Scale = 0"}},
		{"scale NaN", with(func(p *Params) { p.Scale = math.NaN() }), []string{"Params.Scale = NaN"}},
		{"scale -Inf", with(func(p *Params) { p.Scale = math.Inf(-1) }), []string{"Params.Scale = -Inf"}},
		{"max weight 0", with(func(p *Params) { p.MaxWeight = 0 }), []string{"Params.MaxWeight = 0", "at least 1"}},
		{"max participants 0", with(func(p *Params) { p.MaxParticipants = 0 }), []string{"Params.MaxParticipants = 0"}},
		{"max participants negative", with(func(p *Params) { p.MaxParticipants = -3 }), []string{"Params.MaxParticipants = -3"}},
		{"several at once", Params{Bits: 8, Clip: -1}, []string{"Params.Bits", "Params.Clip", "Params.Scale", "Params.MaxWeight", "Params.MaxParticipants"}},
		{"total weight over 2^53", Params{Bits: 64, Clip: 1e-30, Scale: 1, MaxWeight: 1 << 50, MaxParticipants: 9},
			[]string{"MaxWeight × Params.MaxParticipants", "2^53"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil", tt.p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if errors.Is(err, ErrWouldWrap) {
				t.Errorf("field error %q reported as a wrap", err)
			}
		})
	}
}

// TestValidateWrapBoundary checks the wrap condition
// MaxParticipants × ⌈Clip·Scale·MaxWeight⌉ ≤ 2^(Bits−1) − 1 on both sides of
// its boundary.
func TestValidateWrapBoundary(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"typical 32-bit", valid32, true},
		// 2^21 per update: 1023 × 2^21 = 2^31 − 2^21 fits, 1024 × 2^21 = 2^31 does not.
		{"32: 1023 × 2^21", Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 32, MaxParticipants: 1023}, true},
		{"32: 1024 × 2^21 = 2^31", Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 32, MaxParticipants: 1024}, false},
		// One participant: |q| up to 2^31 − 1 fits, 2^31 does not.
		{"32: 1 × (2^31 − 1)", Params{Bits: 32, Clip: 1, Scale: 1, MaxWeight: 1<<31 - 1, MaxParticipants: 1}, true},
		{"32: 1 × 2^31", Params{Bits: 32, Clip: 1, Scale: 1, MaxWeight: 1 << 31, MaxParticipants: 1}, false},
		// The ceiling counts: 0.5 × (2^32 − 1) = 2^31 − 0.5 rounds up to 2^31.
		{"32: ⌈2^31 − 1⌉", Params{Bits: 32, Clip: 0.5, Scale: 1, MaxWeight: 1<<32 - 2, MaxParticipants: 1}, true},
		{"32: ⌈2^31 − 0.5⌉ = 2^31", Params{Bits: 32, Clip: 0.5, Scale: 1, MaxWeight: 1<<32 - 1, MaxParticipants: 1}, false},
		{"32: Scale 2^16 with 1000 × 100", Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 100}, false},
		{"64: same", Params{Bits: 64, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 100}, true},
		{"64: 1 × 2^62", Params{Bits: 64, Clip: 1, Scale: 1 << 62, MaxWeight: 1, MaxParticipants: 1}, true},
		{"64: 2 × 2^62 = 2^63", Params{Bits: 64, Clip: 1, Scale: 1 << 62, MaxWeight: 1, MaxParticipants: 2}, false},
		{"64: 1 × 2^63", Params{Bits: 64, Clip: 1, Scale: 1 << 63, MaxWeight: 1, MaxParticipants: 1}, false},
		{"64: 3 × 2^61", Params{Bits: 64, Clip: 1, Scale: 1 << 59, MaxWeight: 4, MaxParticipants: 3}, true},
		{"64: 4 × 2^61 = 2^63", Params{Bits: 64, Clip: 1, Scale: 1 << 59, MaxWeight: 4, MaxParticipants: 4}, false},
		{"64: Clip·Scale overflows float64", Params{Bits: 64, Clip: 1e300, Scale: 1e300, MaxWeight: 1, MaxParticipants: 1}, false},
		{"64: 2^32 participants × 2^30", Params{Bits: 64, Clip: 1, Scale: 1 << 30, MaxWeight: 1, MaxParticipants: 1 << 32}, true},
		{"64: 2^33 participants × 2^30", Params{Bits: 64, Clip: 1, Scale: 1 << 30, MaxWeight: 1, MaxParticipants: 1 << 33}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tt.p, err)
				}
				return
			}
			var we *WrapError
			if !errors.As(err, &we) || !errors.Is(err, ErrWouldWrap) {
				t.Fatalf("Validate(%+v) = %v, want a *WrapError", tt.p, err)
			}
			t.Log(err)
			for _, w := range []string{"could wrap the", "exceeds the largest safe |sum|", "bits);", "lower "} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			checkSuggestions(t, we)
		})
	}
}

// checkSuggestions checks that each suggested value of a WrapError is exactly
// the boundary: with it the parameters validate, with the next larger value
// they could wrap.
func checkSuggestions(t *testing.T, we *WrapError) {
	t.Helper()
	p := we.Params
	type try struct {
		field     string
		fits, up  Params
		suggested bool
	}
	var tries []try
	if we.MaxScale > 0 {
		a, b := p, p
		a.Scale, b.Scale = we.MaxScale, math.Nextafter(we.MaxScale, math.Inf(1))
		tries = append(tries, try{"Scale", a, b, true})
	}
	if we.MaxClip > 0 {
		a, b := p, p
		a.Clip, b.Clip = we.MaxClip, math.Nextafter(we.MaxClip, math.Inf(1))
		tries = append(tries, try{"Clip", a, b, true})
	}
	if we.MaxWeight > 0 {
		a, b := p, p
		a.MaxWeight, b.MaxWeight = we.MaxWeight, we.MaxWeight+1
		tries = append(tries, try{"MaxWeight", a, b, true})
	}
	if we.MaxParticipants > 0 {
		a, b := p, p
		a.MaxParticipants, b.MaxParticipants = we.MaxParticipants, we.MaxParticipants+1
		tries = append(tries, try{"MaxParticipants", a, b, true})
	}
	if len(tries) == 0 {
		t.Fatalf("no suggestion in %v", we)
	}
	for _, tr := range tries {
		if err := tr.fits.Validate(); err != nil {
			t.Errorf("suggested %s: Validate(%+v) = %v", tr.field, tr.fits, err)
		}
		if err := tr.up.Validate(); !errors.Is(err, ErrWouldWrap) {
			t.Errorf("%s one step above the suggestion: Validate(%+v) = %v, want a wrap", tr.field, tr.up, err)
		}
		if !strings.Contains(we.Error(), tr.field+" to at most") {
			t.Errorf("error %q does not suggest %s", we, tr.field)
		}
	}
	// The values as printed (rounded down) fit too.
	for _, field := range []string{"Scale", "Clip"} {
		m := regexp.MustCompile(field + ` to at most ([^ ,]+)`).FindStringSubmatch(we.Error())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("printed %s suggestion %q: %v", field, m[1], err)
		}
		q := p
		if field == "Scale" {
			q.Scale = v
		} else {
			q.Clip = v
		}
		if err := q.Validate(); err != nil {
			t.Errorf("printed %s suggestion %s does not fit: %v", field, m[1], err)
		}
	}
	if we.Fits64 {
		q := p
		q.Bits = 64
		if err := q.Validate(); err != nil || !strings.Contains(we.Error(), "Bits 64") {
			t.Errorf("Fits64 but Validate(64-bit) = %v, message %q", err, we)
		}
	}
}

func TestWrapErrorMessage(t *testing.T) {
	p := Params{Bits: 32, Clip: 1, Scale: 1 << 16, MaxWeight: 1000, MaxParticipants: 100}
	err := p.Validate()
	want := "fixedpoint: Params could wrap the 32-bit ring: MaxParticipants × ⌈Clip × Scale × MaxWeight⌉ = 100 × ⌈1 × 65536 × 1000⌉ = 6553600000 " +
		"exceeds the largest safe |sum|, 2^31 − 1 = 2147483647, by 4406116353 (3.05×, 1.61 bits); " +
		"lower Scale to at most 21474.8 (2^14 is the largest power of two that fits), or Clip to at most 0.327679, " +
		"or MaxWeight to at most 327, or MaxParticipants to at most 32, or use Bits 64"
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() =\n%v\nwant\n%s", err, want)
	}
}

func TestMaxAbs(t *testing.T) {
	p := Params{Bits: 32, Clip: 0.75, Scale: 1 << 4, MaxWeight: 10, MaxParticipants: 2}
	for w, want := range map[uint64]uint64{1: 12, 3: 36, 10: 120} {
		if got, ok := p.MaxAbs(w); !ok || got != want {
			t.Errorf("MaxAbs(%d) = %d, %v; want %d", w, got, ok, want)
		}
	}
	p.Clip = 0.7 // 0.7 × 16 = 11.2 → 12
	if got, _ := p.MaxAbs(1); got != 12 {
		t.Errorf("MaxAbs(1) with Clip 0.7 = %d, want 12", got)
	}
	if _, ok := (Params{Clip: 1, Scale: 0x1p63}).MaxAbs(1); ok {
		t.Error("MaxAbs of 2^63 reported as representable")
	}
}
