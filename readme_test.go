package tfcam_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExample: the README's Go section is ExampleModel_ExplainInto
// as compiled and run here, so the README's code cannot rot.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- example:begin ExampleModel_ExplainInto -->\n```go\n")
	block, _, ok2 := strings.Cut(block, "```\n<!-- example:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no ExampleModel_ExplainInto block (<!-- example:begin ExampleModel_ExplainInto --> ```go ... ``` <!-- example:end -->)")
	}
	_, fn, ok := strings.Cut(string(src), "// Explain a folder of photos into a results folder")
	fn, _, ok2 = strings.Cut(fn, "\n}\n")
	if !ok || !ok2 {
		t.Fatal("example_test.go: ExampleModel_ExplainInto not found after its doc comment")
	}
	if want := "// Explain a folder of photos into a results folder" + fn + "\n}\n"; block != want {
		t.Errorf("README.md's Go example differs from ExampleModel_ExplainInto in example_test.go; copy the function (with its doc comment) into the README.\nREADME:\n%s\nexample_test.go:\n%s", block, want)
	}
}
