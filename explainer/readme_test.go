package explainer

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite docs/methods.md's method table from the registry")

const (
	methodsDocPath = "../docs/methods.md"
	tableBegin     = "<!-- methods:begin"
	tableEnd       = "<!-- methods:end -->"
	tableHeader    = "| name | what | options (default) | variant notes |\n|---|---|---|---|\n"
)

// methodTable is docs/methods.md's method table, generated from the
// registrations: one row per method in registry order. Its link to the
// Smoothing section is an anchor inside docs/methods.md.
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

// TestMethodsDocTable: docs/methods.md's method table is the registry's
// (every registered method has its row, with its options' defaults as
// declared). Regenerate it with -update.
func TestMethodsDocTable(t *testing.T) {
	raw, err := os.ReadFile(methodsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i, j := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q … %q section", methodsDocPath, tableBegin, tableEnd)
	}
	start := i + strings.Index(text[i:], "\n") + 1
	want := methodTable()
	if text[start:j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(methodsDocPath, []byte(text[:start]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's method table differs from the registry; run go test ./explainer -run TestMethodsDocTable -update\ngot:\n%s\nwant:\n%s", methodsDocPath, text[start:j], want)
}

// TestMethodsDocAnchors: every in-page link of docs/methods.md (the
// generated table's "#smoothing-eigen_smooth-and-aug_smooth" among them)
// names one of its headings, by GitHub's anchor rule: lower case, spaces
// to hyphens, other punctuation but - and _ dropped.
func TestMethodsDocAnchors(t *testing.T) {
	raw, err := os.ReadFile(methodsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	fence := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#"))) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(raw), -1)
	if len(links) == 0 {
		t.Fatalf("%s: no in-page links (the table links the Smoothing section)", methodsDocPath)
	}
	for _, m := range links {
		if !anchors[m[1]] {
			t.Errorf("%s: link #%s names no heading", methodsDocPath, m[1])
		}
	}
}
