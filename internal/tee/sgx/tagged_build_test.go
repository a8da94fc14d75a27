//go:build !ego

package sgx

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTaggedBuilds keeps the SGX build compiling in CI, which has no Open
// Enclave: it vets this package, and runs its tests, with the tag sets that
// compile without it (see the package doc). It needs the go command and
// cgo with a C compiler, because EGo's enclave package includes C.
func TestTaggedBuilds(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	env := func(name string) string {
		out, err := exec.Command(goBin, "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	if env("CGO_ENABLED") != "1" {
		t.Skip("cgo is disabled (no C compiler?): the ego build needs cgo for EGo's enclave package")
	}
	for _, tags := range []string{"ego,ego_mock_eclient", "ego,ego_enclave"} {
		t.Run(tags, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{{"vet", "-tags", tags, "."}, {"test", "-count=1", "-tags", tags, "."}} {
				out, err := exec.Command(goBin, args...).CombinedOutput()
				if err != nil {
					t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}
