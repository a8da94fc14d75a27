package secagg

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/confed/confed/internal/fixedpoint"
)

func TestShamir(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, tc := range []struct{ n, t int }{{2, 2}, {5, 3}, {8, 5}, {21, 11}} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.t, tc.n), func(t *testing.T) {
			secret := make([]byte, secretLen)
			rand.Read(secret)
			secret[0] = 0xff // near 2^256: still below p
			ids := make([]uint32, tc.n)
			for i := range ids {
				ids[i] = uint32(i * 3)
			}
			shares, err := split(secret, ids, tc.t, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				pick := r.Perm(tc.n)[:tc.t]
				var pi []uint32
				var ps [][]byte
				for _, k := range pick {
					pi, ps = append(pi, ids[k]), append(ps, shares[k])
				}
				got, err := combine(pi, ps)
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("combine of %v: %x, %v", pick, got, err)
				}
				// t−1 shares (with a wrong extra) do not give the secret.
				if tc.t > 1 {
					got, _ := combine(pi[:tc.t-1], ps[:tc.t-1])
					if bytes.Equal(got, secret) {
						t.Fatal("t−1 shares gave the secret")
					}
				}
			}
			again, _ := split(secret, ids, tc.t, rand.Reader)
			if tc.t > 1 && bytes.Equal(again[0], shares[0]) {
				t.Error("two splits gave the same share: coefficients not random")
			}
		})
	}
	if _, err := combine([]uint32{1, 1}, [][]byte{make([]byte, shareLen), make([]byte, shareLen)}); err == nil {
		t.Error("duplicate holders accepted")
	}
	pb := prime.FillBytes(make([]byte, shareLen))
	if _, err := combine([]uint32{1}, [][]byte{pb}); err == nil {
		t.Error("share ≥ p accepted")
	}
	if !prime.ProbablyPrime(32) || prime.Cmp(new(big.Int).Lsh(big.NewInt(1), 256)) <= 0 {
		t.Error("field modulus is not a prime above 2^256")
	}
}

// With t−1 shares fixed, the shares are uniform: the share of holder x for
// two different secrets has the same distribution. Checked coarsely: the
// top byte of a share of a fixed secret is spread over all values.
func TestShamirSharesLookUniform(t *testing.T) {
	secret := make([]byte, secretLen)
	seen := map[byte]bool{}
	for range 2000 {
		s, err := split(secret, []uint32{0, 1, 2}, 2, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		seen[s[1][1]] = true // byte 0 is almost always 0 (p ≈ 2^256)
	}
	if len(seen) < 240 {
		t.Errorf("second byte of shares took %d of 256 values", len(seen))
	}
}

func TestNeighbours(t *testing.T) {
	for _, tc := range []struct{ n, degree, want int }{{5, 0, 4}, {5, 4, 4}, {5, 10, 4}, {30, 6, 6}, {101, 10, 10}} {
		a := neighbours([32]byte{1}, tc.n, tc.degree)
		b := neighbours([32]byte{1}, tc.n, tc.degree)
		c := neighbours([32]byte{2}, tc.n, tc.degree)
		for i, ns := range a {
			if len(ns) != tc.want || !slices.IsSorted(ns) || contains(ns, uint32(i)) {
				t.Fatalf("n=%d degree=%d: neighbours of %d: %v", tc.n, tc.degree, i, ns)
			}
			for _, j := range ns {
				if !contains(a[j], uint32(i)) {
					t.Fatalf("n=%d degree=%d: %d→%d but not back", tc.n, tc.degree, i, j)
				}
			}
		}
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Error("graph not deterministic")
		}
		if tc.degree > 0 && tc.degree < tc.n-1 && slices.EqualFunc(a, c, slices.Equal) {
			t.Error("graph does not depend on the session")
		}
	}
}

func TestCheckThreshold(t *testing.T) {
	tests := []struct {
		n, degree, t int
		want         string
	}{
		{5, 0, 3, ""},
		{5, 0, 5, ""},
		{5, 0, 2, "must exceed half of the 5 parties"},
		{4, 0, 2, "must exceed half of the 4 parties"},
		{5, 0, 6, "exceeds the 5 parties"},
		{100, 10, 6, ""},
		{100, 10, 5, "must exceed half of the 11 parties"},
		{100, 9, 6, "must be even"},
		{100, -1, 6, "must be >= 0"},
		{1, 0, 1, "at least 2 participants"},
	}
	for _, tt := range tests {
		err := CheckThreshold(tt.n, tt.degree, tt.t)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckThreshold(%d, %d, %d) = %v, want %q", tt.n, tt.degree, tt.t, err, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	s := newSession(t, 4, 0, 3, 10)
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"64-bit ring", func(c *Config) { c.Params.Bits = 64 }, "Bits = 64"},
		{"roster larger than params", func(c *Config) { c.Params.MaxParticipants = 3 }, "fewer than the 4"},
		{"weights could wrap", func(c *Config) { c.Params.MaxWeight = 1 << 30; c.Params.Scale = 1 }, "Clip"},
		{"duplicate name", func(c *Config) { c.Peers = append(slices.Clone(c.Peers[:3]), c.Peers[0]) }, "duplicate name"},
		{"unsupported key", func(c *Config) { c.Peers = slices.Clone(c.Peers); c.Peers[1].Key = "rsa" }, "unsupported signing key"},
		{"no length", func(c *Config) { c.Length = 0 }, "Length = 0"},
	}
	for _, tt := range tests {
		c := s.cfg
		tt.change(&c)
		err := c.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	a, _ := SessionID("f", 1, []byte("s"), s.cfg)
	b, _ := SessionID("f", 2, []byte("s"), s.cfg)
	c := s.cfg
	c.Threshold = 4
	d, _ := SessionID("f", 1, []byte("s"), c)
	if a == b || a == d {
		t.Error("session id ignores the round or the threshold")
	}
}

// The masks are expanded chunk by chunk: a vector longer than one chunk
// gets the same prefix as a short one, and the mask is uniform-looking
// (removing it restores the input).
func TestMaskerChunks(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	long := make([]uint32, 2*chunkWords+5)
	short := make([]uint32, 100)
	if err := newMasker(len(long)).apply(long, key, true); err != nil {
		t.Fatal(err)
	}
	if err := newMasker(len(short)).apply(short, key, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(long[:100], short) {
		t.Error("mask depends on the chunking")
	}
	if long[chunkWords] == long[0] && long[chunkWords+1] == long[1] {
		t.Error("second chunk repeats the first")
	}
	if err := newMasker(1000).apply(long, key, false); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(long, func(v uint32) bool { return v != 0 }) {
		t.Error("subtracting the mask does not restore zero")
	}
	src := fixedpoint.Encode32([]uint32{1, 2, 3})
	dst := []uint32{10, 20, 30}
	newMasker(3).addEncoded(dst, src)
	if !slices.Equal(dst, []uint32{11, 22, 33}) {
		t.Errorf("addEncoded: %v", dst)
	}
}
