package snp_test

import (
	"io"
	"os"
	"testing"

	"github.com/google/logger"
)

// TestMain sends go-sev-guest's warnings (for example "neither VCEK nor
// VLEK certificate found" for every garbage input) to io.Discard; errors
// still reach stderr.
func TestMain(m *testing.M) {
	logger.Init("snp-test", false, false, io.Discard)
	os.Exit(m.Run())
}
