package model

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// readPrefix decodes the 8-byte header length and checks it against limits.
func readPrefix(p []byte, limits Limits) (int64, error) {
	n := binary.LittleEndian.Uint64(p)
	if lim := limits.maxHeader(); n > uint64(lim) {
		return 0, fmt.Errorf("%w: header of %d bytes exceeds the limit of %d", ErrTooLarge, n, lim)
	}
	if t := limits.MaxTotalBytes; t > 0 && n > uint64(t) {
		return 0, fmt.Errorf("%w: header of %d bytes exceeds the total limit of %d", ErrTooLarge, n, t)
	}
	if n < 2 {
		return 0, fmt.Errorf("%w: header of %d bytes cannot hold a JSON object", ErrMalformed, n)
	}
	return int64(n), nil
}

// checkLayout validates the tensors a header declares: names, shapes, and
// offsets. Each tensor must span exactly 4 × elements bytes and, ordered by
// offset, the spans must tile [0, dataLen) with no gap or overlap. It returns
// the entries in offset order and dataLen.
func checkLayout(entries []entry, dtype Dtype) ([]entry, int64, error) {
	total := 0
	for _, e := range entries {
		if err := checkName(e.name); err != nil {
			return nil, 0, fmt.Errorf("%w: tensor %q: %w", ErrMalformed, e.name, err)
		}
		n, err := checkedElems(e.shape)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: tensor %q: %w", ErrMalformed, e.name, err)
		}
		if total += n; total > maxElements {
			return nil, 0, fmt.Errorf("%w: more than %d parameters", ErrMalformed, maxElements)
		}
		if e.end < e.begin {
			return nil, 0, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] end before they begin", ErrMalformed, e.name, e.begin, e.end)
		}
		if span, want := e.end-e.begin, int64(n)*int64(dtype.Size()); span != want {
			return nil, 0, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] span %d bytes, shape %v needs %d",
				ErrMalformed, e.name, e.begin, e.end, span, fmtShape(e.shape), want)
		}
	}
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	var pos int64
	for _, e := range sorted {
		switch {
		case e.begin > pos:
			return nil, 0, fmt.Errorf("%w: tensor %q: data_offsets begin at %d, leaving a gap after byte %d", ErrMalformed, e.name, e.begin, pos)
		case e.begin < pos:
			return nil, 0, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] overlap the previous tensor (which ends at %d)", ErrMalformed, e.name, e.begin, e.end, pos)
		}
		pos = e.end
	}
	return sorted, pos, nil
}

// matchSpec checks that entries (already through checkLayout) describe spec
// exactly, in canonical layout: the same names and shapes, each tensor at the
// offset it has when tensors are laid out contiguously in name order. The
// data section then maps 1:1 onto the flat parameter vector.
func matchSpec(entries []entry, spec Spec) error {
	byName := make(map[string]entry, len(entries))
	for _, e := range entries {
		byName[e.name] = e
	}
	var off int64
	for _, ts := range spec {
		e, ok := byName[ts.Name]
		if !ok {
			return fmt.Errorf("%w: tensor %q missing", ErrSpecMismatch, ts.Name)
		}
		if !slices.Equal(e.shape, ts.Shape) {
			return fmt.Errorf("%w: tensor %q has shape %v, want %v", ErrSpecMismatch, ts.Name, fmtShape(e.shape), fmtShape(ts.Shape))
		}
		if e.begin != off {
			return fmt.Errorf("%w: tensor %q starts at data byte %d, canonical layout puts it at %d", ErrSpecMismatch, ts.Name, e.begin, off)
		}
		off = e.end
		delete(byName, ts.Name)
	}
	for _, e := range entries {
		if _, extra := byName[e.name]; extra {
			return fmt.Errorf("%w: unexpected tensor %q", ErrSpecMismatch, e.name)
		}
	}
	return nil
}
