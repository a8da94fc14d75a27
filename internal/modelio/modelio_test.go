package modelio

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"strings"
	"testing"

	"github.com/confed/confed/internal/manifest"
	"github.com/confed/confed/internal/model"
	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/simulated"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// dropLastChunk and flipLastByte tamper with a model stream.
func dropLastChunk(ms []*confedv1.ModelChunk) []*confedv1.ModelChunk { return ms[:len(ms)-1] }

func flipLastByte(ms []*confedv1.ModelChunk) []*confedv1.ModelChunk {
	d := ms[len(ms)-1].GetChunk().Data
	d[len(d)-1] ^= 0x40
	return ms
}

// checkErr fails t unless err contains want; it reports whether an error
// was wanted (the test has nothing more to check then).
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	return true
}

// fakeStream replays messages then io.EOF.
type fakeStream struct{ msgs []*confedv1.ModelChunk }

func (f *fakeStream) Recv() (*confedv1.ModelChunk, error) {
	if len(f.msgs) == 0 {
		return nil, io.EOF
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

func signedStream(t *testing.T, m *model.Model, chunk int) []*confedv1.ModelChunk {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := simulated.NewIssuerWithMeasurement(tee.Options{AllowInsecureSimulated: true}, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := iss.Issue(context.Background(), manifest.SigningKeyReportData("fed", priv.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	size, sum, err := Digest(m)
	if err != nil {
		t.Fatal(err)
	}
	signer := &manifest.Signer{Key: priv, Evidence: ev}
	sm, err := signer.Sign(&confedv1.ModelManifest{Federation: "fed", Round: 2, ModelSha256: sum[:], ModelSize: uint64(size),
		TeeKind: tee.KindSimulated, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*confedv1.ModelChunk{{Msg: &confedv1.ModelChunk_Header{Header: &confedv1.ModelHeader{Signed: sm, Size: uint64(size), ChunkSize: uint32(chunk)}}}}
	_, err = Send(m, chunk, func(c *confedv1.Chunk) error {
		msgs = append(msgs, &confedv1.ModelChunk{Msg: &confedv1.ModelChunk_Chunk{Chunk: &confedv1.Chunk{Seq: c.GetSeq(), Data: append([]byte(nil), c.GetData()...)}}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestReceive(t *testing.T) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 300, Init: model.InitNormal, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := Expect{Federation: "fed", Verifier: simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true}), Spec: m.Spec()}
	other, _ := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 5, Init: model.InitZeros})
	tests := []struct {
		name    string
		edit    func([]*confedv1.ModelChunk) []*confedv1.ModelChunk
		want    func(Expect) Expect
		wantErr string
	}{
		{name: "valid"},
		{name: "truncated", edit: dropLastChunk, wantErr: "truncated"},
		{name: "reordered", edit: func(ms []*confedv1.ModelChunk) []*confedv1.ModelChunk {
			ms[1], ms[2] = ms[2], ms[1]
			return ms
		}, wantErr: "out of order"},
		{name: "flipped byte", edit: flipLastByte, wantErr: "hash"},
		{name: "no header", edit: func(ms []*confedv1.ModelChunk) []*confedv1.ModelChunk { return ms[1:] }, wantErr: "does not start with a header"},
		{name: "expected other hash", want: func(e Expect) Expect { e.SHA256 = make([]byte, 32); return e }, wantErr: "expected"},
		{name: "expected other shape", want: func(e Expect) Expect { e.Spec = other.Spec(); return e }, wantErr: "shape"},
		{name: "other federation", want: func(e Expect) Expect { e.Federation = "other"; return e }, wantErr: "verifying model manifest"},
		{name: "over the size limit", want: func(e Expect) Expect { e.MaxBytes = 100; return e }, wantErr: "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := signedStream(t, m, 1000)
			if tt.edit != nil {
				msgs = tt.edit(msgs)
			}
			w := want
			if tt.want != nil {
				w = tt.want(w)
			}
			got, err := Receive(context.Background(), &fakeStream{msgs}, w)
			if checkErr(t, err, tt.wantErr) {
				return
			}
			if got.SHA256 != model.SHA256(m) || got.Verified.Manifest.GetRound() != 2 {
				t.Fatalf("received a different model or manifest")
			}
		})
	}
}

// TestReceiveAlloc checks that a model of a known shape is decoded into the
// vector Expect.Alloc gives, and that Free gets that vector back whenever
// the download fails after allocating it.
func TestReceiveAlloc(t *testing.T) {
	m, err := model.Init(model.InitSpec{Kind: model.KindLogisticRegression, Features: 300, Init: model.InitNormal, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		edit      func([]*confedv1.ModelChunk) []*confedv1.ModelChunk
		wantFreed bool
		wantErr   string
	}{
		{name: "valid"},
		{name: "truncated", edit: dropLastChunk, wantFreed: true, wantErr: "truncated"},
		{name: "flipped byte", edit: flipLastByte, wantFreed: true, wantErr: "hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var allocated, freed []float32
			w := Expect{Federation: "fed", Verifier: simulated.NewVerifier(tee.Options{AllowInsecureSimulated: true}), Spec: m.Spec(),
				Alloc: func(n int) ([]float32, error) { allocated = make([]float32, n); return allocated, nil },
				Free:  func(v []float32) { freed = v }}
			msgs := signedStream(t, m, 1000)
			if tt.edit != nil {
				msgs = tt.edit(msgs)
			}
			got, err := Receive(context.Background(), &fakeStream{msgs}, w)
			if (freed != nil) != tt.wantFreed || (freed != nil && &freed[0] != &allocated[0]) {
				t.Fatalf("freed the allocated vector: %v, want %v", freed != nil, tt.wantFreed)
			}
			if checkErr(t, err, tt.wantErr) {
				return
			}
			flat, ok := got.Model.Backing()
			if !ok || &flat[0] != &allocated[0] {
				t.Fatal("the model does not live in the allocated vector")
			}
			if model.SHA256(got.Model) != model.SHA256(m) {
				t.Fatal("received a different model")
			}
		})
	}
}
