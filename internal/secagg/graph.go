package secagg

import (
	"crypto/sha256"
	"math/rand/v2"
	"slices"
)

// neighbours returns each participant's neighbours, sorted: the complete
// graph if degree is 0 or at least n−1, otherwise a Harary graph on a ring
// shuffled by the session (each participant is joined to the degree/2
// before and after it), as in Bell et al. The graph depends only on public
// values, so every party computes the same one.
func neighbours(session [32]byte, n, degree int) [][]uint32 {
	out := make([][]uint32, n)
	if degree <= 0 || degree >= n-1 {
		for i := range n {
			for j := range n {
				if j != i {
					out[i] = append(out[i], uint32(j))
				}
			}
		}
		return out
	}
	seed := sha256.Sum256(append([]byte("confed secagg+ v1 graph"), session[:]...))
	perm := rand.New(rand.NewChaCha8(seed)).Perm(n) // perm[position] = participant
	for p, i := range perm {
		for d := 1; d <= degree/2; d++ {
			out[i] = append(out[i], uint32(perm[(p+d)%n]), uint32(perm[(p-d+n)%n]))
		}
		slices.Sort(out[i])
	}
	return out
}

// contains reports whether sorted s holds v.
func contains(s []uint32, v uint32) bool {
	_, ok := slices.BinarySearch(s, v)
	return ok
}
