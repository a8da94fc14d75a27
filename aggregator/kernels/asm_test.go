package kernels_test

import (
	"os"
	"strings"
	"testing"
)

// TestAsmVZEROUPPER checks that every return from an assembly routine that
// touches YMM registers comes right after VZEROUPPER. Dirty upper halves of
// the YMM registers make the SSE code that runs next (AES-GCM among it) pay
// for AVX-SSE transitions; on this project's Zen 4 machine a kernel without
// VZEROUPPER halved the speed of AES-GCM after it.
func TestAsmVZEROUPPER(t *testing.T) {
	src, err := os.ReadFile("kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	routines := 0
	for _, body := range strings.Split(string(src), "\nTEXT ")[1:] {
		name, _, _ := strings.Cut(body, "(")
		routines++
		if !strings.Contains(body, "Y") {
			continue
		}
		var prev string
		rets := 0
		for _, line := range strings.Split(body, "\n") {
			ins := strings.Fields(strings.SplitN(line, "//", 2)[0])
			if len(ins) == 0 || strings.HasSuffix(ins[0], ":") {
				continue
			}
			if ins[0] == "RET" {
				rets++
				if prev != "VZEROUPPER" {
					t.Errorf("%s: RET after %s, not VZEROUPPER", name, prev)
				}
			}
			prev = ins[0]
		}
		if rets == 0 {
			t.Errorf("%s: no RET found", name)
		}
	}
	if routines != 5 {
		t.Errorf("found %d routines in kernels_amd64.s, want 5", routines)
	}
}
