package submit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/confed/confed/internal/seal"
	"github.com/confed/confed/internal/seal/sealwire"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

func TestReadChunks(t *testing.T) {
	tests := []struct {
		size, chunk int
		want        []int // chunk lengths; the last is marked last
	}{
		{0, 4, []int{0}},
		{1, 4, []int{1}},
		{4, 4, []int{4}},
		{5, 4, []int{4, 1}},
		{12, 4, []int{4, 4, 4}},
		{13, 4, []int{4, 4, 4, 1}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%d", tc.size, tc.chunk), func(t *testing.T) {
			in := bytes.Repeat([]byte{1, 2, 3}, tc.size)[:tc.size]
			var got []int
			var all []byte
			err := readChunks(bytes.NewReader(in), tc.chunk, func(seq uint64, p []byte, last bool) error {
				if seq != uint64(len(got)) {
					t.Fatalf("seq %d, want %d", seq, len(got))
				}
				if last != (len(got) == len(tc.want)-1) {
					t.Fatalf("chunk %d: last = %t", seq, last)
				}
				got = append(got, len(p))
				all = append(all, p...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || !bytes.Equal(all, in) {
				t.Fatalf("chunks %v, want %v (content equal: %t)", got, tc.want, bytes.Equal(all, in))
			}
		})
	}
	if err := readChunks(bytes.NewReader(nil), 0, nil); err == nil {
		t.Fatal("chunk size 0 accepted")
	}
	if err := readChunks(bytes.NewReader(nil), seal.MaxPlaintextChunk+1, nil); err == nil {
		t.Fatal("chunk size above seal.MaxPlaintextChunk accepted")
	}
}

// failingReader fails after its data.
type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("disk on fire")
	}
	return n, err
}

// TestSendSealedOpens: both senders produce a stream that seal.Opener
// opens to the input, and a reader's failure is reported, not sealed as
// the end of the stream.
func TestSendSealedOpens(t *testing.T) {
	key, err := seal.NewRoundKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := seal.Context{Federation: "f", Round: 1, AggregatorMeasurement: []byte{1}, Participant: "p"}
	payload := bytes.Repeat([]byte("update"), 5000)
	senders := map[string]func(io.Reader, *seal.Sealer, func(*confedv1.SubmitUpdateRequest) error) error{
		"SendSealed": func(r io.Reader, s *seal.Sealer, send func(*confedv1.SubmitUpdateRequest) error) error {
			return SendSealed(r, 4096, s, send)
		},
		"SendSealedStream": func(r io.Reader, s *seal.Sealer, send func(*confedv1.SubmitUpdateRequest) error) error {
			return SendSealedStream(r, 4096, s, func(m any) error {
				o := m.(*sealwire.Outgoing)
				// As the transport would: the wire bytes, then the buffer back.
				b, err := sealwire.Codec{}.Marshal(o)
				if err != nil {
					return err
				}
				msg, err := sealwire.Decode(b.Materialize())
				b.Free()
				if err != nil {
					return err
				}
				return send(msg)
			})
		},
	}
	for name, send := range senders {
		t.Run(name, func(t *testing.T) {
			s, err := seal.NewSealer(key.PublicKey(), ctx)
			if err != nil {
				t.Fatal(err)
			}
			o, err := seal.NewOpener(key, s.Header(), ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			err = send(bytes.NewReader(payload), s, func(m *confedv1.SubmitUpdateRequest) error {
				c := m.GetSealedChunk()
				pt, err := o.Open(c.GetSeq(), c.GetCiphertext(), c.GetLast())
				got = append(got, pt...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Finish(); err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("Finish: %v; payload equal: %t", err, bytes.Equal(got, payload))
			}
			s2, _ := seal.NewSealer(key.PublicKey(), ctx)
			err = send(failingReader{bytes.NewReader(payload)}, s2, func(*confedv1.SubmitUpdateRequest) error { return nil })
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk on fire")) {
				t.Fatalf("reader failure: %v", err)
			}
		})
	}
}
