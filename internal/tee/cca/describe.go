package cca

import (
	"encoding/hex"
	"fmt"

	"github.com/confed/confed/internal/tee/cose"
)

// Field is one named, readable value of a token.
type Field struct{ Name, Value string }

// Describe lists every claim of a CCA token. It verifies nothing.
func Describe(raw []byte) ([]Field, error) {
	p, err := parseToken(raw)
	if err != nil {
		return nil, err
	}
	pl, r := p.platform, p.realm
	f := []Field{
		{"platform.signature_algorithm", cose.AlgName(p.platSign.Alg)},
		{"platform.profile", pl.Profile},
		{"platform.challenge", hex.EncodeToString(pl.Challenge)},
		{"platform.implementation_id", hex.EncodeToString(pl.ImplementationID)},
		{"platform.instance_id", hex.EncodeToString(pl.InstanceID)},
		{"platform.config", hex.EncodeToString(pl.Config)},
		{"platform.lifecycle", fmt.Sprintf("0x%04x (%s)", pl.Lifecycle, LifecycleName(pl.Lifecycle))},
		{"platform.hash_algorithm", pl.HashAlg},
		{"platform.verification_service", pl.Service},
	}
	for i, c := range pl.SWComponents {
		f = append(f, Field{fmt.Sprintf("platform.sw_components[%d]", i),
			fmt.Sprintf("type %q version %q measurement %x signer %x", c.Type, c.Version, c.Value, c.SignerID)})
	}
	f = append(f,
		Field{"realm.signature_algorithm", cose.AlgName(p.realmSign.Alg)},
		Field{"realm.profile", r.Profile},
		Field{"realm.challenge", hex.EncodeToString(r.Challenge)},
		Field{"realm.personalization_value", hex.EncodeToString(r.Personalization)},
		Field{"realm.initial_measurement", hex.EncodeToString(r.RIM)},
	)
	for i, m := range r.REMs {
		f = append(f, Field{fmt.Sprintf("realm.extensible_measurements[%d]", i), hex.EncodeToString(m)})
	}
	f = append(f,
		Field{"realm.hash_algorithm", r.HashAlg},
		Field{"realm.public_key", hex.EncodeToString(r.RAKRaw)},
		Field{"realm.public_key_hash_algorithm", r.RAKHashAlg},
	)
	return f, nil
}
