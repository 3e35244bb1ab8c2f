package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestExportCommand: tfcam export writes a SavedModel with the explain
// signatures and says so; an existing --out, a method set twice and a
// stray argument are refused before anything is written (exit 2).
func TestExportCommand(t *testing.T) {
	model := filepath.Join(fixture.Load(t, "resnet").ModelDir)
	out := filepath.Join(t.TempDir(), "x")
	_, stderr, err := runCLI(t, "export", "--model", model, "--method", "gradcam,scorecam", "--out", out)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	for _, want := range []string{`"explain"`, `"explain_class"`, "map_gradcam, map_scorecam"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("export's report lacks %s:\n%s", want, stderr)
		}
	}
	for _, f := range []string{"saved_model.pb", "variables/variables.index", "tfcam.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("export lacks %s: %v", f, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "gradcam", "--out", out}, "exists"},
		{[]string{"--method", "occlusion:size=4,occlusion:size=8", "--out", out + "2"}, "both method occlusion"},
		{[]string{"--method", "gradcam", "--out", out + "3", "stray.png"}, "takes no inputs"},
		{[]string{"--method", "nosuch", "--out", out + "4"}, "--method"},
		{[]string{"--method", "dff", "--out", out + "5"}, "several concept maps"},
	} {
		_, stderr, err := runCLI(t, append([]string{"export", "--model", model}, c.args...)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("export %v: %v, want exit 2 saying %q\n%s", c.args, err, c.want, stderr)
		}
	}
	for _, n := range []string{"2", "3", "4", "5"} {
		if _, err := os.Stat(out + n); err == nil {
			t.Errorf("a refused export wrote %s", out+n)
		}
	}
}
