package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestPythonReader explains shapes images, two JPEGs that are upright only
// through their EXIF orientation tag and a file whose key needs escaping
// (100%.png), then reads the outputs with scripts/tfcam_read.py, the
// reader docs/outputs.md describes. scripts/tfcam_read_check.py checks it
// against facts it gets elsewhere: each map16 equals the .npy map
// normalised and TensorFlow's decoding of the TFRecord's map/png16, at the
// model's input size (tfcam-run.json); every (method, rank) asked for has
// its files, named as the page says; show_map is at the photo's upright
// size and matches tfcam's own overlay for each kind of map (heat for the
// CAMs, gradient for guided-gradcam, signed for integrated-gradients);
// records() keeps the last
// line of a key and drops a line cut short.
func TestPythonReader(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	paths := writeShapesImages(t, dir, 3)
	fixture.Python(t, "tfcam_read_check.py", "make", paths[0], filepath.Join(imgs, "rotated"))
	data, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(imgs, "100%.png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	o := explainOpts(filepath.Join(dir, "out"))
	o.methods, o.class, o.save = "gradcam,gradcam++,guided-gradcam,integrated-gradients", "top2", "overlay,map16,npy,tfrecord"
	// Overlays at the photo's size and lossless: the check compares them
	// with the reader's pixel by pixel.
	o.overlaySize, o.overlayFormat = 0, "png"
	var log strings.Builder
	if err := explainRun(context.Background(), o, []string{imgs}, nil, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "done: 6 explained") {
		t.Fatalf("want 6 images explained:\n%s", log.String())
	}
	fixture.Python(t, "tfcam_read_check.py", "check", o.out, "gradcam,gradcam++,guided-gradcam,integrated-gradients", "2", "6")
}
