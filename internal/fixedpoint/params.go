package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// MaxTotalWeight bounds MaxWeight × MaxParticipants, so that every total
// weight a Sum can reach is exact in float64 (and cannot overflow uint64).
const MaxTotalWeight = 1 << 53

// Params fixes the ring and the quantisation. The participants and the
// aggregator of a round must use the same Params.
type Params struct {
	// Bits is 32 or 64: the ring Z_{2^Bits}.
	Bits int
	// Clip bounds each coordinate of a participant's (unweighted) delta:
	// values are clamped to [−Clip, +Clip] before weighting. Positive, finite.
	Clip float64
	// Scale is the fixed-point scale: one unit of the ring is 1/Scale (for
	// weight 1). Positive, finite; a power of two (e.g. 2^16) keeps the
	// arithmetic free of one rounding.
	Scale float64
	// MaxWeight is the largest weight (example count) one update may carry;
	// at least 1.
	MaxWeight uint64
	// MaxParticipants is the most updates one Sum accepts; at least 1.
	MaxParticipants int
}

// Validate reports whether p is usable: each field in range (errors name the
// field), MaxWeight × MaxParticipants ≤ MaxTotalWeight, and, crucially, no sum
// of MaxParticipants updates of weight MaxWeight clipped to ±Clip can wrap
// the ring:
//
//	MaxParticipants × MaxAbs(MaxWeight) ≤ 2^(Bits−1) − 1.
//
// If that fails, the error is a *WrapError (errors.Is ErrWouldWrap) saying by
// how much and which value of each field would fit.
func (p Params) Validate() error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, fmt.Errorf("fixedpoint: Params.%s = %v: want %s", field, value, want))
	}
	if p.Bits != 32 && p.Bits != 64 {
		bad("Bits", p.Bits, "32 or 64")
	}
	if !positiveFinite(p.Clip) {
		bad("Clip", p.Clip, "a positive finite number")
	}
	if !positiveFinite(p.Scale) {
		bad("Scale", p.Scale, "a positive finite number")
	}
	if p.MaxWeight < 1 {
		bad("MaxWeight", p.MaxWeight, "at least 1")
	}
	if p.MaxParticipants < 1 {
		bad("MaxParticipants", p.MaxParticipants, "at least 1")
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if hi, lo := bits.Mul64(p.MaxWeight, uint64(p.MaxParticipants)); hi != 0 || lo > MaxTotalWeight {
		return fmt.Errorf("fixedpoint: Params.MaxWeight × Params.MaxParticipants = %d × %d exceeds 2^53, beyond which total weights are not exact: lower either",
			p.MaxWeight, p.MaxParticipants)
	}
	if !p.fits() {
		return p.wrapError()
	}
	return nil
}

// MaxAbs returns the largest |q| that Quantise can produce for an update of
// this weight, ⌈Clip · (Scale · weight)⌉, and whether it is below 2^63.
// Sum.Add refuses elements outside ±MaxAbs(weight).
func (p Params) MaxAbs(weight uint64) (uint64, bool) {
	// The same float64 operations, in the same order, as quantise: float64
	// multiplication is monotone, so |c| ≤ Clip implies |c·k| ≤ Clip·k.
	v := math.Ceil(p.Clip * (p.Scale * float64(weight)))
	if !(v < 0x1p63) { // also NaN
		return 0, false
	}
	return uint64(v), true
}

// fits reports whether MaxParticipants × MaxAbs(MaxWeight) < 2^(Bits−1); the
// fields must be individually valid.
func (p Params) fits() bool {
	m, ok := p.MaxAbs(p.MaxWeight)
	if !ok {
		return false
	}
	hi, lo := bits.Mul64(uint64(p.MaxParticipants), m)
	return hi == 0 && lo < 1<<(p.Bits-1)
}

func positiveFinite(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// WrapError reports Params whose sum could wrap the ring, with the largest
// value of each field that would fit if the others stayed as they are.
type WrapError struct {
	Params Params
	// Worst is MaxParticipants × MaxAbs(MaxWeight), the largest |sum| the
	// parameters allow (as a float64: it may exceed 2^64).
	Worst float64
	// Largest values that fit, one field changed at a time; 0 if none does.
	MaxScale        float64
	MaxClip         float64
	MaxWeight       uint64
	MaxParticipants int
	// Fits64 is true if Bits is 32 and the same parameters fit a 64-bit ring.
	Fits64 bool
}

func (p Params) wrapError() *WrapError {
	e := &WrapError{Params: p}
	e.Worst = float64(p.MaxParticipants) * math.Ceil(p.Clip*(p.Scale*float64(p.MaxWeight)))
	with := func(f func(*Params)) bool { q := p; f(&q); return q.fits() }
	if b, ok := lastTrue(1, math.Float64bits(p.Scale), func(b uint64) bool {
		return with(func(q *Params) { q.Scale = math.Float64frombits(b) })
	}); ok {
		e.MaxScale = math.Float64frombits(b)
	}
	if b, ok := lastTrue(1, math.Float64bits(p.Clip), func(b uint64) bool {
		return with(func(q *Params) { q.Clip = math.Float64frombits(b) })
	}); ok {
		e.MaxClip = math.Float64frombits(b)
	}
	if w, ok := lastTrue(1, p.MaxWeight, func(w uint64) bool {
		return with(func(q *Params) { q.MaxWeight = w })
	}); ok {
		e.MaxWeight = w
	}
	if m, ok := p.MaxAbs(p.MaxWeight); ok && m > 0 {
		e.MaxParticipants = int(min((uint64(1)<<(p.Bits-1)-1)/m, uint64(p.MaxParticipants)))
	}
	if p.Bits == 32 {
		q := p
		q.Bits = 64
		e.Fits64 = q.fits()
	}
	return e
}

// Error says by how much the sum could overflow and what to change. The
// suggested values are rounded down to six significant digits, so each one
// as printed fits.
func (e *WrapError) Error() string {
	p := e.Params
	safe := uint64(1)<<(p.Bits-1) - 1
	worst, excess := fmt.Sprintf("%.6g", e.Worst), fmt.Sprintf("about %.3g", e.Worst-float64(safe))
	if m, ok := p.MaxAbs(p.MaxWeight); ok {
		if hi, lo := bits.Mul64(uint64(p.MaxParticipants), m); hi == 0 {
			worst, excess = strconv.FormatUint(lo, 10), strconv.FormatUint(lo-safe, 10)
		}
	}
	ratio := e.Worst / float64(safe)
	var b strings.Builder
	fmt.Fprintf(&b, "fixedpoint: Params could wrap the %d-bit ring: MaxParticipants × ⌈Clip × Scale × MaxWeight⌉ = %d × ⌈%g × %g × %d⌉ = %s exceeds the largest safe |sum|, 2^%d − 1 = %d, by %s (%.3g×, %.2f bits); ",
		p.Bits, p.MaxParticipants, p.Clip, p.Scale, p.MaxWeight, worst, p.Bits-1, safe, excess, ratio, math.Log2(ratio))
	var fixes []string
	if e.MaxScale > 0 {
		_, exp := math.Frexp(e.MaxScale)
		fixes = append(fixes, fmt.Sprintf("Scale to at most %g (2^%d is the largest power of two that fits)", floor6(e.MaxScale), exp-1))
	}
	if e.MaxClip > 0 {
		fixes = append(fixes, fmt.Sprintf("Clip to at most %g", floor6(e.MaxClip)))
	}
	if e.MaxWeight > 0 {
		fixes = append(fixes, fmt.Sprintf("MaxWeight to at most %d", e.MaxWeight))
	}
	if e.MaxParticipants > 0 {
		fixes = append(fixes, fmt.Sprintf("MaxParticipants to at most %d", e.MaxParticipants))
	}
	if len(fixes) == 0 {
		b.WriteString("no single field can be lowered enough")
	} else {
		b.WriteString("lower ")
		b.WriteString(strings.Join(fixes, ", or "))
	}
	if e.Fits64 {
		b.WriteString(", or use Bits 64")
	}
	return b.String()
}

// floor6 returns positive v truncated to at most six significant decimal
// digits, never above v: the truncation of v's shortest decimal form (which
// parses back to v) parses to at most v.
func floor6(v float64) float64 {
	s := strconv.FormatFloat(v, 'e', -1, 64) // d.ddd…e±x
	mant, exp, _ := strings.Cut(s, "e")
	if len(mant) > 7 {
		mant = mant[:7] // d.ddddd
	}
	f, err := strconv.ParseFloat(mant+"e"+exp, 64)
	if err != nil || f > v {
		return v
	}
	return f
}

// Unwrap returns ErrWouldWrap.
func (e *WrapError) Unwrap() error { return ErrWouldWrap }

// lastTrue returns the largest v in [lo, hi] with ok(v), for ok true up to
// some point and false after it; found is false if ok(lo) is false.
func lastTrue(lo, hi uint64, ok func(uint64) bool) (v uint64, found bool) {
	for lo <= hi {
		m := lo + (hi-lo)/2
		if ok(m) {
			v, found = m, true
			if m == math.MaxUint64 {
				break
			}
			lo = m + 1
		} else {
			if m == 0 {
				break
			}
			hi = m - 1
		}
	}
	return v, found
}
