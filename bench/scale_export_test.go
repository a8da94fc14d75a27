package bench

import (
	"io"

	"github.com/confed/confed/internal/model"
)

// NewUpdateReaderForTest returns the Peak child's generator of an update of
// spec.
func NewUpdateReaderForTest(spec model.Spec, seed uint64) io.Reader {
	hdr, err := safetensorsPrefix(spec)
	if err != nil {
		panic(err)
	}
	return newUpdateReader(hdr, spec.NumParams(), seed)
}

// RunPeakChildForTest is runPeakChild.
var RunPeakChildForTest = runPeakChild
