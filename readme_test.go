package tfcam_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExample: the README's Go section is ExampleOpen as compiled
// and run here, so the README's code cannot rot.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- example:begin ExampleOpen -->\n```go\n")
	block, _, ok2 := strings.Cut(block, "```\n<!-- example:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no ExampleOpen block (<!-- example:begin ExampleOpen --> ```go ... ``` <!-- example:end -->)")
	}
	_, fn, ok := strings.Cut(string(src), "// Explain one photo in memory")
	fn, _, ok2 = strings.Cut(fn, "\n}\n")
	if !ok || !ok2 {
		t.Fatal("example_test.go: ExampleOpen not found after its doc comment")
	}
	if want := "// Explain one photo in memory" + fn + "\n}\n"; block != want {
		t.Errorf("README.md's Go example differs from ExampleOpen in example_test.go; copy the function (with its doc comment) into the README.\nREADME:\n%s\nexample_test.go:\n%s", block, want)
	}
}
