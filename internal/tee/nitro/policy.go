package nitro

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/yamlcfg"
)

// Policy says which Nitro Enclaves a Verifier accepts. It is plain data,
// decoded from YAML; Validate checks it and names the bad key.
//
// A debug-mode enclave (PCR0 all zeros) is never accepted, and the field
// named by Binding must always equal the 64 bytes of report data.
type Policy struct {
	// PCR0 is the allow-list of enclave image measurements (96 hex
	// characters each). At least one is required.
	PCR0 []string `yaml:"pcr0"`
	// PCR1 (kernel and boot ramfs), PCR2 (application) and PCR8 (signing
	// certificate of the enclave image file), if set, are allow-lists too.
	PCR1 []string `yaml:"pcr1"`
	PCR2 []string `yaml:"pcr2"`
	PCR8 []string `yaml:"pcr8"`
	// Binding names the document field that must carry the report data:
	// nonce (default), user_data or public_key.
	Binding string `yaml:"binding"`
	// MaxAge, if set, is how old (by its timestamp) a document may be at
	// verification time.
	MaxAge yamlcfg.Duration `yaml:"max_age"`
}

// Binding fields.
const (
	BindNonce     = "nonce"
	BindUserData  = "user_data"
	BindPublicKey = "public_key"
)

// policyPCRs are the PCRs a Policy can restrict.
var policyPCRs = []uint{0, 1, 2, 8}

// Validate checks the policy; each problem names its key.
func (p Policy) Validate() error {
	_, err := p.compile()
	return err
}

type compiled struct {
	pcrs    map[uint][][]byte
	binding string
	maxAge  time.Duration
}

func (p Policy) compile() (compiled, error) {
	var errs []error
	c := compiled{pcrs: map[uint][][]byte{}, binding: p.Binding, maxAge: p.MaxAge.Std()}
	if len(p.PCR0) == 0 {
		errs = append(errs, fmt.Errorf("aws-nitro policy: pcr0: at least one allowed enclave image measurement is required (%d hex characters)", 2*PCRSize))
	}
	lists := map[uint][]string{0: p.PCR0, 1: p.PCR1, 2: p.PCR2, 8: p.PCR8}
	for _, idx := range policyPCRs { // in order, so that errors come in order
		for i, s := range lists[idx] {
			b, err := hex.DecodeString(s)
			if err != nil || len(b) != PCRSize {
				errs = append(errs, fmt.Errorf("aws-nitro policy: pcr%d[%d]: want %d hex characters (%d bytes), got %q", idx, i, 2*PCRSize, PCRSize, s))
				continue
			}
			if idx == 0 && allZero(b) {
				errs = append(errs, fmt.Errorf("aws-nitro policy: pcr0[%d]: all zeros is the PCR0 of a debug-mode enclave, which is never accepted", i))
			}
			c.pcrs[idx] = append(c.pcrs[idx], b)
		}
	}
	switch p.Binding {
	case "":
		c.binding = BindNonce
	case BindNonce, BindUserData, BindPublicKey:
	default:
		errs = append(errs, fmt.Errorf("aws-nitro policy: binding: %q, want nonce, user_data or public_key", p.Binding))
	}
	if p.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("aws-nitro policy: max_age: must not be negative, got %s", p.MaxAge))
	}
	return c, errors.Join(errs...)
}

// check validates a verified document against the policy.
func (c compiled) check(d *Document, reportData [64]byte, now time.Time) error {
	pcr0 := d.PCRs[0]
	if pcr0 == nil || allZero(pcr0) {
		return errors.New("aws-nitro: evidence refused: PCR0 is all zeros: the enclave runs in debug mode")
	}
	for _, idx := range policyPCRs {
		allowed := c.pcrs[idx]
		if len(allowed) == 0 {
			continue
		}
		got, ok := d.PCRs[idx]
		if !ok {
			return fmt.Errorf("aws-nitro: evidence refused: the document has no PCR%d, which the policy restricts", idx)
		}
		if !tee.Listed(allowed, got) {
			return fmt.Errorf("aws-nitro: evidence refused: PCR%d %x is not in the policy's pcr%d allow-list", idx, got, idx)
		}
	}
	if c.maxAge > 0 && now.Sub(d.Timestamp) > c.maxAge {
		return fmt.Errorf("aws-nitro: evidence refused: document from %s is older than max_age %s", d.Timestamp.Format(time.RFC3339), c.maxAge)
	}
	if got := d.field(c.binding); !bytes.Equal(got, reportData[:]) {
		return fmt.Errorf("aws-nitro: evidence refused: %s (%d bytes) does not equal the expected report data: the document is not bound to this connection", c.binding, len(got))
	}
	return nil
}

func (d *Document) field(name string) []byte {
	switch name {
	case BindUserData:
		return d.UserData
	case BindPublicKey:
		return d.PublicKey
	}
	return d.Nonce
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
