package secagg

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Shamir secret sharing of 32-byte secrets over GF(p), p = 2^256 + 297 (the
// smallest prime above 2^256, so every 32-byte secret is a field element).
// A share is the polynomial's value at x = id + 1, 33 bytes big-endian.

const (
	secretLen = 32
	shareLen  = 33
)

var prime = func() *big.Int {
	p := new(big.Int).Lsh(big.NewInt(1), 256)
	return p.Add(p, big.NewInt(297))
}()

// split returns one share of secret per x in xs for threshold t: the values
// at xs of a polynomial of degree t−1 with constant term secret and the
// other coefficients uniform in GF(p), drawn from r.
func split(secret []byte, xs []uint32, t int, r io.Reader) ([][]byte, error) {
	if len(secret) != secretLen || t < 1 || t > len(xs) {
		return nil, errors.New("secagg: split: bad secret length or threshold")
	}
	coef := make([]*big.Int, t)
	coef[0] = new(big.Int).SetBytes(secret)
	for i := 1; i < t; i++ {
		c, err := rand.Int(r, prime)
		if err != nil {
			return nil, fmt.Errorf("secagg: split: %w", err)
		}
		coef[i] = c
	}
	shares := make([][]byte, len(xs))
	for k, x := range xs {
		bx := big.NewInt(int64(x) + 1)
		y := new(big.Int)
		for i := t - 1; i >= 0; i-- { // Horner
			y.Mul(y, bx).Add(y, coef[i]).Mod(y, prime)
		}
		shares[k] = y.FillBytes(make([]byte, shareLen))
	}
	for _, c := range coef {
		c.SetInt64(0)
	}
	return shares, nil
}

// combine interpolates the secret from exactly t shares at distinct ids.
func combine(ids []uint32, shares [][]byte) ([]byte, error) {
	if len(ids) != len(shares) || len(ids) == 0 {
		return nil, errors.New("secagg: combine: no shares")
	}
	secret := new(big.Int)
	for j, idj := range ids {
		y, err := shareValue(shares[j])
		if err != nil {
			return nil, err
		}
		xj := big.NewInt(int64(idj) + 1)
		num, den := big.NewInt(1), big.NewInt(1)
		for m, idm := range ids {
			if m == j {
				continue
			}
			if idm == idj {
				return nil, errors.New("secagg: combine: duplicate share holder")
			}
			xm := big.NewInt(int64(idm) + 1)
			num.Mul(num, xm).Mod(num, prime)
			den.Mul(den, new(big.Int).Sub(xm, xj)).Mod(den, prime)
		}
		den.ModInverse(den, prime)
		y.Mul(y, num).Mul(y, den)
		secret.Add(secret, y).Mod(secret, prime)
	}
	if secret.BitLen() > 8*secretLen {
		return nil, errors.New("secagg: combine: shares do not interpolate to a 32-byte secret")
	}
	return secret.FillBytes(make([]byte, secretLen)), nil
}

func shareValue(b []byte) (*big.Int, error) {
	if len(b) != shareLen {
		return nil, fmt.Errorf("secagg: share of %d bytes, want %d", len(b), shareLen)
	}
	y := new(big.Int).SetBytes(b)
	if y.Cmp(prime) >= 0 {
		return nil, errors.New("secagg: share is not a field element")
	}
	return y, nil
}
