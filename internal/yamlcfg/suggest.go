package yamlcfg

import "strings"

// Suggest returns the option that got was most likely meant to be, or "" if
// none is close. It forgives case, '_' versus '-' versus nothing, small
// typos (an edit distance of about a third of the option's length) and
// abbreviations or extensions of at least three letters ("minimum" for
// "min").
func Suggest(got string, options []string) string {
	g := normalize(got)
	best, bestDist := "", -1
	for _, o := range options {
		on := normalize(o)
		dist := editDistance(g, on)
		limit := min(len(on)/3, 3)
		prefix := min(len(g), len(on)) >= 3 && (strings.HasPrefix(g, on) || strings.HasPrefix(on, g))
		if dist > limit && !prefix {
			continue
		}
		if bestDist < 0 || dist < bestDist {
			best, bestDist = o, dist
		}
	}
	return best
}

func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// editDistance is the optimal string alignment distance between a and b,
// in runes: insertions, deletions, substitutions and swaps of adjacent
// runes ("cuont" is one edit from "count").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j]; three rows do.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
