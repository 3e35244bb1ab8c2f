package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/explainer"
)

// TestMethodHelpFromRegistry: `tfcam explain --help` lists every
// registered method, in registry order, each option with the value the
// method actually uses when the option is left out (the resolved field of
// the parsed spec, not the registration's text).
func TestMethodHelpFromRegistry(t *testing.T) {
	help := methodHelp()
	// Each method's lines: its own line and the option lines under it.
	var order []string
	lines := map[string]string{}
	cur := ""
	for _, l := range strings.Split(help, "\n") {
		if !strings.HasPrefix(l, "  ") {
			continue
		}
		if f := strings.Fields(l); l[2] != ' ' && len(f) > 0 {
			cur = f[0]
			order = append(order, cur)
		}
		lines[cur] += l + "\n"
	}
	var want []string
	for _, in := range explainer.Methods() {
		want = append(want, in.Name)
		ms, err := explainer.ParseMethods(in.Name)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		for _, kv := range explainer.Options(explainer.Resolve(ms[0])) {
			if !strings.Contains(lines[in.Name], " "+kv+" ") {
				t.Errorf("%s: --help does not show %s (the resolved default) in\n%s", in.Name, kv, lines[in.Name])
			}
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("--help lists %q, want the registry's %q", order, want)
	}
	if !strings.Contains(help, "integrated-gradients:steps=64:baseline=blur") {
		t.Error("--help lost its spec example")
	}
}
