// Package suggest finds the names closest to a misspelt one, for the "did
// you mean" of errors: unknown methods, class labels, commands. It ranks
// by edit distance, as tfgraph's unknown-layer error does; it must not
// know what the names are.
package suggest

import (
	"sort"
	"strings"
)

// Distance is the Levenshtein distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns at most n of names that are close to name, closest
// first (ties in names' order), ignoring case: within an edit distance of
// a third of name's length (at least 2), or containing name or contained
// in it ("cat" is close to "tiger cat"). A name that differs only in case
// is closest of all. Names far from everything give none: a list of
// unrelated suggestions helps less than none.
func Closest(name string, names []string, n int) []string {
	q := strings.ToLower(strings.TrimSpace(name))
	if q == "" {
		return nil
	}
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, c := range names {
		l := strings.ToLower(c)
		d := Distance(q, l)
		if d > max(2, len(q)/3) && !strings.Contains(l, q) && !strings.Contains(q, l) {
			continue
		}
		cs = append(cs, cand{c, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.name)
	}
	return out
}
