package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"testing"
)

// TestChunkConstruction opens a sealed stream independently, with
// crypto/hpke and crypto/cipher only, as the package documentation
// describes version 2: an export-only HPKE context, AES-256-GCM under
// Export(chunk-key, 32), nonce Export(chunk-nonce, 12) ⊕ seq, the chunk AAD.
func TestChunkConstruction(t *testing.T) {
	key := testKey(t, 11)
	ctx := testCtx()
	payload := bytes.Repeat([]byte("confed"), 100)
	hdr, chunks := sealStream(t, key.PublicKey(), ctx, payload, 256, true)
	h, err := parseHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 2 || binary.BigEndian.Uint16(hdr[5:]) != 0xFFFF {
		t.Fatalf("header version %d, aead %#04x: want 2, 0xffff (export-only)", hdr[0], binary.BigEndian.Uint16(hdr[5:]))
	}
	priv, err := key.privateKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := hpke.NewRecipient(h.enc, priv, hpke.HKDFSHA256(), hpke.ExportOnly(), ctx.info())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := r.Export("confed/v2/sealed-update/chunk-key", 32)
	base, _ := r.Export("confed/v2/sealed-update/chunk-nonce", 12)
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	gcm, _ := cipher.NewGCM(block)
	var got []byte
	for _, c := range chunks {
		nonce := bytes.Clone(base)
		var s [8]byte
		binary.BigEndian.PutUint64(s[:], c.seq)
		for i := range s {
			nonce[4+i] ^= s[i]
		}
		aad := binary.BigEndian.AppendUint64(nil, uint64(len("confed/v1/sealed-update/chunk")))
		aad = append(aad, "confed/v1/sealed-update/chunk"...)
		aad = binary.BigEndian.AppendUint64(aad, uint64(len(ctx.Participant)))
		aad = append(aad, ctx.Participant...)
		aad = binary.BigEndian.AppendUint64(aad, ctx.Round)
		aad = binary.BigEndian.AppendUint64(aad, c.seq)
		if c.last {
			aad = append(aad, 1)
		} else {
			aad = append(aad, 0)
		}
		pt, err := gcm.Open(nil, nonce, c.ct, aad)
		if err != nil {
			t.Fatalf("chunk %d: %v", c.seq, err)
		}
		got = append(got, pt...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("independently opened payload differs")
	}
}

// TestSealToOpenToInPlace seals into one reused buffer and opens each chunk
// in its own ciphertext buffer, as the aggregator's receiver does.
func TestSealToOpenToInPlace(t *testing.T) {
	key := testKey(t, 12)
	ctx := testCtx()
	s, err := NewSealer(key.PublicKey(), ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOpener(key, s.Header(), ctx)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	for i, p := range []string{"chunk zero", "chunk one, a little longer", ""} {
		last := i == 2
		ct, err := s.SealTo(buf[:0], uint64(i), []byte(p), last)
		if err != nil {
			t.Fatal(err)
		}
		if &ct[0] != &buf[:1][0] {
			t.Fatalf("chunk %d: SealTo did not use the buffer it was given", i)
		}
		pt, err := o.OpenTo(ct[:0], uint64(i), ct, last)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if string(pt) != p {
			t.Fatalf("chunk %d opened to %q, want %q", i, pt, p)
		}
	}
	if err := o.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenToInPlaceRefusesTampered: a tampered chunk opened in place
// returns no plaintext and kills the stream.
func TestOpenToInPlaceRefusesTampered(t *testing.T) {
	key := testKey(t, 13)
	ctx := testCtx()
	hdr, chunks := sealStream(t, key.PublicKey(), ctx, bytes.Repeat([]byte{7}, 100), 50, false)
	o, err := NewOpener(key, hdr, ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct := bytes.Clone(chunks[0].ct)
	ct[3] ^= 1
	pt, err := o.OpenTo(ct[:0], 0, ct, false)
	if !errors.Is(err, ErrTampered) || pt != nil {
		t.Fatalf("OpenTo(tampered) = %d bytes, %v; want nil, ErrTampered", len(pt), err)
	}
	if _, err := o.OpenTo(nil, 0, chunks[0].ct, false); !errors.Is(err, ErrStreamFailed) {
		t.Fatalf("after a refusal: %v, want ErrStreamFailed", err)
	}
}
