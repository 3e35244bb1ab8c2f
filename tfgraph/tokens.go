package tfgraph

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Tokens says how the tokens of a transformer layer [N,T,C] lie on the
// image: the first tokens are prefix tokens (class, distillation,
// registers) that belong to no patch, the rest a row-major grid of
// patches. The zero value detects both.
type Tokens struct {
	// Drop is the number of prefix tokens: 0 detects it, NoPrefix says
	// there are none.
	Drop int
	// Grid is the patch grid {rows, cols}; {0, 0} detects it.
	Grid [2]int
}

// NoPrefix as Tokens.Drop says that a token layer has no prefix tokens.
const NoPrefix = -1

// maxPrefix bounds the prefix tokens detection accepts next to a patch
// embedding: a class token, a distillation token and up to 8 registers
// (Darcet et al. 2024 use 4).
const maxPrefix = 10

// prefixCounts are the prefixes detection tries without a patch embedding:
// none (e.g. Swin, global-pooled ViTs), a class token (ViT), class and
// distillation tokens (DeiT), a class token and 4 registers (DINOv2 with
// registers), and all three kinds.
var prefixCounts = []int{0, 1, 2, 5, 6}

// TokenView is a resolved Tokens: the layer's first Prefix tokens are
// dropped and the other Rows·Cols reshaped to [N,Rows,Cols,C].
type TokenView struct {
	Prefix, Rows, Cols int
}

// ErrTokenGrid is wrapped by the errors of TokenView when a token layer's
// grid cannot be determined or does not fit the layer.
var ErrTokenGrid = errors.New("token grid")

// IsTokenLayer reports whether l is a token layer: a 3-D output [N,T,C]
// with known T > 1 and C.
func IsTokenLayer(l Layer) bool {
	return len(l.Shape) == 3 && l.Shape[1] > 1 && l.Shape[2] > 0
}

// TokenView resolves t for token layer l. A grid it has to detect comes
// from the patch embedding (the last spatial 4-D layer before l, e.g. a
// Conv2D whose stride is the patch size): the prefix is what is left of T.
// Without one, T−Drop must be a square, and with Drop detected too exactly
// one of the usual prefixes (prefixCounts) may leave a square; anything
// else is ambiguous and refused.
func (f *Forward) TokenView(l Layer, t Tokens) (TokenView, error) {
	if !IsTokenLayer(l) {
		return TokenView{}, fmt.Errorf("tfgraph: layer %q of %s has shape %v, not a token layer [N,T,C]: %w", l.Name, f.model.Dir, l.Shape, ErrTokenGrid)
	}
	T := int(l.Shape[1])
	fail := func(why string) (TokenView, error) {
		return TokenView{}, fmt.Errorf("tfgraph: token layer %q of %s (shape %v, %d tokens): %s; give the prefix token count and the grid (Tokens{Drop, Grid}): %w", l.Name, f.model.Dir, l.Shape, T, why, ErrTokenGrid)
	}
	if t.Drop < NoPrefix || t.Grid[0] < 0 || t.Grid[1] < 0 || (t.Grid[0] == 0) != (t.Grid[1] == 0) {
		return fail(fmt.Sprintf("Drop %d and Grid %v are not valid (Drop ≥ -1; Grid both 0 or both positive)", t.Drop, t.Grid))
	}
	drop := t.Drop
	if drop == NoPrefix {
		drop = 0
	}
	pr, pc := f.patchGrid(l)
	switch {
	case t.Grid[0] > 0 && t.Drop != 0:
		v := TokenView{drop, t.Grid[0], t.Grid[1]}
		if drop+v.Rows*v.Cols != T {
			return fail(fmt.Sprintf("%d prefix tokens and a %dx%d grid make %d tokens", drop, v.Rows, v.Cols, drop+v.Rows*v.Cols))
		}
		return v, nil
	case t.Grid[0] > 0:
		n := t.Grid[0] * t.Grid[1]
		if n > T {
			return fail(fmt.Sprintf("a %dx%d grid has more patches than the layer has tokens", t.Grid[0], t.Grid[1]))
		}
		return TokenView{T - n, t.Grid[0], t.Grid[1]}, nil
	case t.Drop != 0:
		n := T - drop
		if pr > 0 && pr*pc == n {
			return TokenView{drop, pr, pc}, nil
		}
		if s := isqrt(n); s > 0 {
			return TokenView{drop, s, s}, nil
		}
		if pr > 0 {
			return fail(fmt.Sprintf("the %d tokens after %d prefix tokens are not the patch embedding's %dx%d grid nor a square one", n, drop, pr, pc))
		}
		return fail(fmt.Sprintf("the %d tokens after %d prefix tokens are not a square grid and no patch embedding gives their grid", n, drop))
	}
	if pr > 0 && T-pr*pc >= 0 && T-pr*pc <= maxPrefix {
		return TokenView{T - pr*pc, pr, pc}, nil
	}
	var found []TokenView
	for _, p := range prefixCounts {
		if s := isqrt(T - p); s > 0 {
			found = append(found, TokenView{p, s, s})
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return fail(fmt.Sprintf("no patch embedding before it gives the grid, and no usual prefix (%v tokens) leaves a square number of patches", prefixCounts))
	}
	return fail(fmt.Sprintf("no patch embedding before it gives the grid, and %d prefix tokens leave a %dx%d grid but %d leave a %dx%d one", found[0].Prefix, found[0].Rows, found[0].Cols, found[1].Prefix, found[1].Rows, found[1].Cols))
}

// patchGrid is the spatial size of the last spatial 4-D layer before l
// whose every later layer up to l is a token layer (the patch embedding),
// or 0, 0.
func (f *Forward) patchGrid(l Layer) (rows, cols int) {
	for i := len(f.layers) - 1; i >= 0; i-- {
		p := f.layers[i]
		if p.order >= l.order {
			continue
		}
		if p.Spatial && p.Shape[1] > 0 && p.Shape[2] > 0 {
			return int(p.Shape[1]), int(p.Shape[2])
		}
		if len(p.Shape) == 4 {
			return 0, 0
		}
	}
	return 0, 0
}

func isqrt(n int) int {
	if n <= 0 {
		return 0
	}
	s := int(math.Round(math.Sqrt(float64(n))))
	if s*s != n {
		return 0
	}
	return s
}

// transformerDefault is the default target of a model that is recognisably
// a transformer: attention (a token layer whose ops include a Softmax)
// after the last spatial 4-D layer. It is the token layer the last
// attention layer reads — in a pre-norm ViT the first normalisation of the
// last block (pytorch-grad-cam's advice: after that attention only the
// class token reaches the head, so later token layers have no gradient on
// the patches).
func (f *Forward) transformerDefault() (Layer, bool) {
	lastSpatial := -1
	for _, l := range f.layers {
		if l.Spatial {
			lastSpatial = l.order
		}
	}
	attn := -1
	for i, l := range f.layers {
		if l.order > lastSpatial && IsTokenLayer(l) && f.scopeHas(l.Scope, "Softmax") {
			attn = i
		}
	}
	if attn < 0 {
		return Layer{}, false
	}
	reads := map[string]bool{}
	for i, n := range f.nodes {
		if f.onPath[i] && strings.HasPrefix(n.GetName(), f.layers[attn].Scope+"/") {
			for _, in := range n.GetInput() {
				reads[normTensor(in)] = true
			}
		}
	}
	best := -1
	for i := attn - 1; i >= 0; i-- {
		l := f.layers[i]
		if l.order <= lastSpatial || !IsTokenLayer(l) {
			break
		}
		if reads[fmt.Sprintf("%s:%d", l.Output.Op.Name(), l.Output.Index)] {
			best = i
			break
		}
	}
	if best < 0 {
		return Layer{}, false
	}
	return f.layers[best], true
}

// scopeHas reports whether an op of type opType on the path lies in scope.
func (f *Forward) scopeHas(scope, opType string) bool {
	for i, n := range f.nodes {
		if f.onPath[i] && n.GetOp() == opType && strings.HasPrefix(n.GetName(), scope+"/") {
			return true
		}
	}
	return false
}

// ErrTokens is wrapped by ParseTokens' errors.
var ErrTokens = errors.New("tokens")

// ParseTokens reads a token layout as `--tokens` and serve's "tokens"
// write it: "auto" (or "") or comma-separated drop=N|auto and
// grid=ROWSxCOLS|auto; drop=0 is NoPrefix.
func ParseTokens(s string) (Tokens, error) {
	var t Tokens
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return t, nil
	}
	bad := func(why string) (Tokens, error) {
		return Tokens{}, fmt.Errorf("%w %q: %s (want e.g. drop=1,grid=14x14, each auto or a value)", ErrTokens, s, why)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v))
		if !ok || seen[k] {
			return bad(fmt.Sprintf("%q is not a new key=value", kv))
		}
		seen[k] = true
		switch {
		case v == "auto" && (k == "drop" || k == "grid"):
		case k == "drop":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad("drop takes a count of prefix tokens ≥ 0 or auto")
			}
			t.Drop = n
			if n == 0 {
				t.Drop = NoPrefix
			}
		case k == "grid":
			r, c, ok := strings.Cut(v, "x")
			rows, err1 := strconv.Atoi(r)
			cols, err2 := strconv.Atoi(c)
			if !ok || err1 != nil || err2 != nil || rows <= 0 || cols <= 0 {
				return bad("grid takes ROWSxCOLS or auto")
			}
			t.Grid = [2]int{rows, cols}
		default:
			return bad(fmt.Sprintf("unknown key %q (keys: drop, grid)", k))
		}
	}
	return t, nil
}
