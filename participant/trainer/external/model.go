package external

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/confed/confed/internal/model"
)

// headerSlack is the room allowed for a safetensors header written by
// another library (metadata, other spacing) on top of the canonical one.
const headerSlack = 64 << 10

// maxModelBytes bounds model.safetensors: the canonical size of spec plus
// headerSlack.
func maxModelBytes(spec model.Spec) int64 { return model.SafetensorsSize(spec) + headerSlack }

// readOutputFile reads the regular file path (not a symbolic link, not a
// device) of at most limit bytes.
func readOutputFile(path string, limit int64) ([]byte, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, errors.New("the trainer did not write it")
	case err != nil:
		return nil, err
	case st.Mode()&os.ModeSymlink != 0:
		return nil, errors.New("a symbolic link: the trainer must write a regular file")
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("not a regular file (mode %s)", st.Mode())
	case st.Size() > limit:
		return nil, fmt.Errorf("%d bytes, over the limit of %d", st.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("over the limit of %d bytes", limit)
	}
	return b, nil
}

// ReadModel reads and validates the trainer's model file against global
// (see DecodeModel). Errors are *Error naming model.safetensors.
func ReadModel(path string, global *model.Model, frozen []string) (*model.Model, error) {
	b, err := readOutputFile(path, maxModelBytes(global.Spec()))
	if err != nil {
		return nil, fail(ModelFile, err)
	}
	return DecodeModel(b, global, frozen)
}

// DecodeModel decodes a safetensors model written by the trainer and
// checks it against global: a valid encoding, every tensor F32, exactly
// the same tensor names and shapes, every value finite, and the frozen
// tensors bit for bit unchanged. Errors are *Error naming
// model.safetensors and saying what was expected.
func DecodeModel(b []byte, global *model.Model, frozen []string) (*model.Model, error) {
	spec := global.Spec()
	limits := model.Limits{MaxHeaderBytes: headerSlack + int64(256*len(spec)), MaxTotalBytes: maxModelBytes(spec)}
	local, err := model.DecodeSafetensors(b, limits)
	if err != nil {
		return nil, fail(ModelFile, err)
	}
	if err := sameTensors(local.Spec(), spec); err != nil {
		return nil, fail(ModelFile, err)
	}
	if err := finite(local); err != nil {
		return nil, fail(ModelFile, err)
	}
	if err := unchanged(local, global, frozen); err != nil {
		return nil, fail(ModelFile, err)
	}
	return local, nil
}

// sameTensors names the first tensor that is missing, unexpected or of
// another shape. Both specs are sorted by name.
func sameTensors(got, want model.Spec) error {
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i].Name < want[j].Name:
			return fmt.Errorf("unexpected tensor %q: the model must have exactly the global model's tensors (%s)", got[i].Name, names(want))
		case i == len(got) || want[j].Name < got[i].Name:
			return fmt.Errorf("tensor %q is missing: the model must have exactly the global model's tensors (%s)", want[j].Name, names(want))
		case !slices.Equal(got[i].Shape, want[j].Shape):
			return fmt.Errorf("tensor %q has shape %s, want %s as in the global model", got[i].Name, shape(got[i].Shape), shape(want[j].Shape))
		}
		i, j = i+1, j+1
	}
	return nil
}

func names(s model.Spec) string {
	out := ""
	for i, t := range s {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s%s", t.Name, shape(t.Shape))
	}
	return out
}

func shape(s []int) string {
	if len(s) == 0 {
		return "[]"
	}
	return fmt.Sprint(s)
}

// finite names the first NaN or infinite value.
func finite(m *model.Model) error {
	for _, t := range m.Tensors {
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %q element %d is %v: every value must be finite", t.Name, i, v)
			}
		}
	}
	return nil
}

// unchanged requires the frozen tensors to be bit for bit the global ones.
func unchanged(local, global *model.Model, frozen []string) error {
	for _, name := range frozen {
		l, okL := local.Lookup(name)
		g, okG := global.Lookup(name)
		if !okL || !okG {
			return fmt.Errorf("frozen tensor %q is missing", name)
		}
		for i := range g.Data {
			if math.Float32bits(l.Data[i]) != math.Float32bits(g.Data[i]) {
				return fmt.Errorf("tensor %q element %d was changed: the trainer must copy it unchanged from the global model", name, i)
			}
		}
	}
	return nil
}
