package explainer

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's method table from the registry")

const (
	readmePath  = "../README.md"
	tableBegin  = "<!-- methods:begin"
	tableEnd    = "<!-- methods:end -->"
	tableHeader = "| name | what | options (default) | variant notes |\n|---|---|---|---|\n"
)

// methodTable is the README's method table, generated from the
// registrations: one row per method in registry order.
func methodTable() string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, in := range Methods() {
		var opts []string
		for _, o := range in.Options {
			v := fmt.Sprintf("`%s=%s`", o.Name, o.DefaultText())
			if len(o.Allowed) > 1 {
				v += " (" + strings.Join(o.Allowed, ", ") + ")"
			}
			opts = append(opts, v+": "+o.Doc)
		}
		var shared []string
		if in.EigenSmooth {
			shared = append(shared, "`eigen_smooth`")
		}
		if in.AugSmooth {
			shared = append(shared, "`aug_smooth`")
		}
		if len(shared) > 0 {
			opts = append(opts, "+ "+strings.Join(shared, ", "))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", in.Name, cell(in.Summary), cell(strings.Join(opts, "; ")), cell(in.Notes))
	}
	b.WriteString("\nShared options of the class-activation methods (+ in the table: the ones each takes; see [Smoothing](#smoothing-eigen_smooth-and-aug_smooth)):\n\n")
	for _, o := range SmoothOptions() {
		fmt.Fprintf(&b, "- `%s=%s`: %s\n", o.Name, o.DefaultText(), o.Doc)
	}
	return b.String()
}

// TestREADMEMethodTable: the README's method table is the registry's
// (every registered method has its row, with its options' defaults as
// declared). Regenerate it with -update.
func TestREADMEMethodTable(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q … %q section", readmePath, tableBegin, tableEnd)
	}
	start := i + strings.Index(text[i:], "\n") + 1
	want := methodTable()
	if text[start:j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(text[:start]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's method table differs from the registry; run go test ./explainer -run TestREADMEMethodTable -update\ngot:\n%s\nwant:\n%s", readmePath, text[start:j], want)
}
