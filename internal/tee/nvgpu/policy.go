package nvgpu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/confed/confed/internal/tee"
)

// Policy says which GPUs a Verifier accepts. Reference values are given
// inline, in a simple format: for a measurement index (as the GPU's
// MEASUREMENTS response numbers them), the list of allowed values in hex.
// NVIDIA publishes these per driver and VBIOS version in its reference
// integrity manifests (RIMs); confed does not parse RIMs: copy the values
// you accept from them (or from a known-good GPU) into the policy.
//
//	nvidia-gpu:
//	  measurements:
//	    - index: 2
//	      values: [8048dfd18f...]
//	    - index: 3
//	      values: [164f445c3e...]
//
// Every listed index must be present with an allowed value; indices the
// policy does not list are not checked. The request nonce must always equal
// the first 32 bytes of the report data.
type Policy struct {
	Measurements []Reference `yaml:"measurements"`
	// DriverVersions, if set, is an allow-list of the driver versions
	// the report's opaque data names (e.g. "550.90.07").
	DriverVersions []string `yaml:"driver_versions"`
}

// Reference is the allowed values of one measurement index.
type Reference struct {
	Index  int      `yaml:"index"`
	Values []string `yaml:"values"`
}

// Validate checks the policy; each problem names its key.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

type compiled struct {
	meas    map[int][][]byte
	drivers []string
}

func (p Policy) compile() (compiled, error) {
	var errs []error
	c := compiled{meas: map[int][][]byte{}, drivers: p.DriverVersions}
	if len(p.Measurements) == 0 {
		errs = append(errs, errors.New("nvidia-gpu policy: measurements: at least one measurement index with its allowed values is required"))
	}
	for _, ref := range p.Measurements {
		idx, list := ref.Index, ref.Values
		if _, dup := c.meas[idx]; dup {
			errs = append(errs, fmt.Errorf("nvidia-gpu policy: measurements: index %d is listed twice", idx))
		}
		if idx < 1 || idx > 254 {
			errs = append(errs, fmt.Errorf("nvidia-gpu policy: measurements[%d]: index must be 1 to 254", idx))
		}
		if len(list) == 0 {
			errs = append(errs, fmt.Errorf("nvidia-gpu policy: measurements[%d]: no allowed values", idx))
		}
		c.meas[idx] = nil
		for i, s := range list {
			b, err := hex.DecodeString(s)
			if err != nil || len(b) == 0 || len(b) > 64 {
				errs = append(errs, fmt.Errorf("nvidia-gpu policy: measurements[%d][%d]: want 1 to 64 bytes in hex, got %q", idx, i, s))
				continue
			}
			c.meas[idx] = append(c.meas[idx], b)
		}
	}
	for i, d := range p.DriverVersions {
		if d == "" {
			errs = append(errs, fmt.Errorf("nvidia-gpu policy: driver_versions[%d]: empty", i))
		}
	}
	return c, errors.Join(errs...)
}

// check validates a verified report.
func (c compiled) check(r *Report, reportData [64]byte) error {
	if !bytes.Equal(r.Nonce, reportData[:NonceSize]) {
		return fmt.Errorf("nvidia-gpu: evidence refused: request nonce %x is not the first %d bytes of the expected report data: the report is not bound to this connection", r.Nonce, NonceSize)
	}
	got := map[int][]byte{}
	for _, m := range r.Measurements {
		got[m.Index] = m.Value
	}
	idx := make([]int, 0, len(c.meas))
	for i := range c.meas {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		v, ok := got[i]
		if !ok {
			return fmt.Errorf("nvidia-gpu: evidence refused: the report has no measurement %d, which the policy lists", i)
		}
		if !tee.Listed(c.meas[i], v) {
			return fmt.Errorf("nvidia-gpu: evidence refused: measurement %d is %x, not a reference value of the policy", i, v)
		}
	}
	if len(c.drivers) > 0 {
		d := cString(r.Opaque[OpaqueDriverVersion])
		if !slices.Contains(c.drivers, d) {
			return fmt.Errorf("nvidia-gpu: evidence refused: driver version %q is not in the policy's driver_versions", d)
		}
	}
	return nil
}
