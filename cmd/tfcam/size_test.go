package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want [2]int // height, width
		err  bool
	}{
		{"", [2]int{}, false},
		{"224", [2]int{224, 224}, false},
		{"320x240", [2]int{240, 320}, false},
		{"320X240", [2]int{240, 320}, false},
		{"0", [2]int{}, true},
		{"x240", [2]int{}, true},
		{"320x-1", [2]int{}, true},
		{"big", [2]int{}, true},
	}
	for _, c := range cases {
		got, err := parseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parseSize(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

// TestExplainOpenSize explains with a model that takes images of any size:
// at its preset's input_size, at --size, and without either (a usage error
// naming --size).
func TestExplainOpenSize(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	open := fixture.Load(t, "open_size")
	// The same SavedModel without the preset beside it.
	bare := filepath.Join(dir, "bare", "model")
	os.MkdirAll(filepath.Dir(bare), 0o755)
	if out, err := exec.Command("cp", "-r", open.ModelDir, bare).CombinedOutput(); err != nil {
		t.Fatalf("copying the model: %v\n%s", err, out)
	}
	cases := []struct {
		name, model, size, want string
	}{
		{"preset size", open.ModelDir, "", ""},
		{"--size", open.ModelDir, "40x64", ""},
		{"no size", bare, "", "give one with --size"},
		{"bad --size", open.ModelDir, "40 by 64", `--size "40 by 64"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := explainOpts(filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-")))
			o.model, o.size, o.methods = c.model, c.size, "gradcam,scorecam"
			var log strings.Builder
			err := explainRun(context.Background(), o, paths, nil, &log)
			if c.want != "" {
				var ee exitError
				if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ee) || ee.code != 2 {
					t.Fatalf("error %v, want a usage error with %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			recs := readJSONL(t, filepath.Join(o.out, "results.jsonl"))
			if len(recs) != 2 || len(recs[0].Maps) != 2 || recs[0].Layer != "conv2" {
				t.Fatalf("records %+v", recs)
			}
		})
	}
}
