package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/tfgraph"
)

const tokensUsage = "a transformer's token layout: drop=P,grid=RxC"

// parseTokens reads --tokens (tfgraph.ParseTokens).
func parseTokens(s string) (tfgraph.Tokens, error) {
	t, err := tfgraph.ParseTokens(s)
	if errors.Is(err, tfgraph.ErrTokens) {
		return t, usageError("--" + err.Error())
	}
	return t, err
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
