package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// TestTFRecordReadByTensorFlow writes maps with --save tfrecord and reads
// them back with tf.data in Python: one Example per image and method, with
// the key, class and a 16-bit map of the model's size.
func TestTFRecordReadByTensorFlow(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 5)
	o := explainOpts(filepath.Join(dir, "out"))
	o.methods, o.save = "gradcam,hirescam", "overlay,tfrecord"
	var log strings.Builder
	if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// A crash between a record and its line: the record of an image not
	// marked done must go on resume.
	res := filepath.Join(o.out, "results.jsonl")
	raw, _ := os.ReadFile(res)
	lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	os.WriteFile(res, []byte(strings.Join(lines[:4], "")+lines[4][:10]), 0o644) // last line cut short
	log.Reset()
	if err := explainRun(context.Background(), o, paths, nil, &log); err != nil || !strings.Contains(log.String(), "done: 1 explained, 4 already done") {
		t.Fatalf("resume after a cut line: %v\n%s", err, log.String())
	}
	fixture.Python(t, "check_tfrecord.py", filepath.Join(o.out, "maps.tfrecord"), "10", "4")
	if n := len(readJSONL(t, res)); n != 5 {
		t.Errorf("%d lines in results.jsonl, want 5", n)
	}
}

// TestForceAndLock: --force redoes images without duplicating their lines,
// and a second run on the same --out is refused while one holds it.
func TestForceAndLock(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 4)
	o := explainOpts(filepath.Join(dir, "out"))
	o.methods, o.save = "gradcam", "overlay"
	var log strings.Builder
	for i := 0; i < 2; i++ {
		if err := explainRun(context.Background(), o, paths, nil, &log); err != nil {
			t.Fatal(err)
		}
		o.force = true
	}
	if n := len(readJSONL(t, filepath.Join(o.out, "results.jsonl"))); n != 4 {
		t.Errorf("after --force: %d lines, want 4", n)
	}
	held, err := results.OpenDir(o.out, inputs.Shard{Index: 0, Count: 1}, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := explainRun(context.Background(), o, paths, nil, &log); err == nil || !strings.Contains(err.Error(), "another tfcam run") {
		t.Errorf("second run on a held --out: %v", err)
	}
}

// TestMergeToItsInput: `merge --to OUT/results.jsonl OUT` reads the file
// before replacing it: the index keeps every image (once).
func TestMergeToItsInput(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "results.jsonl")
	lines := `{"key":"a.png"}` + "\n" + `{"key":"b.png"}` + "\n" + `{"key":"a.png","layer":"x"}` + "\n"
	if err := os.WriteFile(res, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runMerge(t.Context(), []string{"--to", res, dir}); err != nil {
		t.Fatal(err)
	}
	if n := len(readJSONL(t, res)); n != 2 {
		t.Errorf("%s holds %d lines after merging into itself, want 2", res, n)
	}
}
