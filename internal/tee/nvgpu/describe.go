package nvgpu

import (
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Field is one named, readable value of GPU evidence.
type Field struct{ Name, Value string }

var opaqueNames = map[int]string{
	1: "cert_issuer_name", 2: "cert_authority_key_id", OpaqueDriverVersion: "driver_version",
	OpaqueGPUInfo: "gpu_info", OpaqueSKU: "sku", OpaqueVBIOSVersion: "vbios_version", 7: "manufacturer_id",
	8: "tamper_detection", 9: "smc", 10: "vpr", 11: "nvdec0_status", 12: "msrscnt", 13: "cprinfo",
	14: "board_id", 15: "chip_sku", 16: "chip_sku_mod", OpaqueProject: "project", OpaqueProjectSKU: "project_sku",
	19: "project_sku_mod",
}

var stringFields = map[int]bool{OpaqueDriverVersion: true, 15: true, 16: true, OpaqueProject: true, OpaqueProjectSKU: true}

// Describe lists every field of GPU evidence. It verifies nothing.
func Describe(raw []byte) ([]Field, error) {
	p, err := parseEvidence(raw)
	if err != nil {
		return nil, err
	}
	r := p.report
	f := []Field{
		{"spdm_version", fmt.Sprintf("%d.%d", r.Request[0]>>4, r.Request[0]&0xf)},
		{"nonce", hex.EncodeToString(r.Nonce)},
		{"responder_nonce", hex.EncodeToString(r.ResponderNonce)},
		{"measurement_blocks", fmt.Sprint(len(r.Measurements))},
	}
	for _, m := range r.Measurements {
		f = append(f, Field{fmt.Sprintf("measurement[%d]", m.Index), hex.EncodeToString(m.Value)})
	}
	types := make([]int, 0, len(r.Opaque))
	for t := range r.Opaque {
		types = append(types, t)
	}
	sort.Ints(types)
	for _, t := range types {
		name := opaqueNames[t]
		if name == "" {
			name = fmt.Sprintf("opaque[%d]", t)
		}
		v := hex.EncodeToString(r.Opaque[t])
		if stringFields[t] {
			v = fmt.Sprintf("%q", cString(r.Opaque[t]))
		}
		f = append(f, Field{name, v})
	}
	for i, c := range p.chain {
		f = append(f, Field{fmt.Sprintf("certificate[%d]", i), fmt.Sprintf("%s (issuer %s, valid %s to %s)", c.Subject.CommonName, c.Issuer.CommonName,
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))})
	}
	f = append(f, Field{"signature", hex.EncodeToString(r.Signature)})
	return f, nil
}
