package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/tfgraph"
)

const tokensUsage = "how a transformer's token layer [N,T,C] lies on the image: drop=P (prefix tokens: class, distillation, registers; 0 = none) and grid=ROWSxCOLS, each auto (detected from the patch embedding, or T−P a square) by default, e.g. drop=1,grid=14x14"

// parseTokens reads --tokens: "auto" or comma-separated drop=N|auto and
// grid=RxC|auto.
func parseTokens(s string) (tfgraph.Tokens, error) {
	var t tfgraph.Tokens
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return t, nil
	}
	bad := func(why string) (tfgraph.Tokens, error) {
		return tfgraph.Tokens{}, usageError(fmt.Sprintf("--tokens %q: %s (want e.g. drop=1,grid=14x14, each auto or a value)", s, why))
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
				t.Drop = tfgraph.NoPrefix
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

// tokensHint adds the --tokens hint to a token-grid error.
func tokensHint(err error) error {
	if errors.Is(err, tfgraph.ErrTokenGrid) {
		return fmt.Errorf("%w\n(set the token layout with --tokens drop=P,grid=ROWSxCOLS; `tfcam layers --all` shows the token layers)", err)
	}
	return err
}

// reportSkipped tells which methods do not apply to the model: their maps
// are not made, the other methods' are.
func reportSkipped(log io.Writer, e *explainer.Explainer) {
	for _, na := range e.Skipped() {
		fmt.Fprintf(log, "warning: %v; no %s maps are made, the other methods' are\n", na, na.Method)
	}
}

// methodList names e's methods (those that apply), comma-separated.
func methodList(e *explainer.Explainer) string {
	var names []string
	for _, m := range e.Methods() {
		names = append(names, m.Name())
	}
	return strings.Join(names, ",")
}
