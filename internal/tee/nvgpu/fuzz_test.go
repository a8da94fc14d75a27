package nvgpu

import "testing"

func FuzzParseReport(f *testing.F) {
	f.Add(sampleReport(f))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseReport(b) })
}

func FuzzParseEvidence(f *testing.F) {
	f.Add(sampleEvidence(f))
	f.Add([]byte(`{"format":"confed-nvidia-gpu/v1","attestation_report":"11e0","certificate_chain":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseEvidence(b); err == nil {
			_, _ = Describe(b)
		}
	})
}
