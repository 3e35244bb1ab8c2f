package results

import (
	"slices"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/fakes3"
)

// TestBucketOutResume checks what a resumed run reads from an output
// bucket: the keys of every results part are done (but those to redo),
// a TFRecord part whose results part never appeared (a kill between the
// two writes) is deleted, and images' outputs that lie under maps/ or
// results/ (input keys "maps/…", "results/…") are neither deleted nor
// read as parts.
func TestBucketOutResume(t *testing.T) {
	s := fakes3.Start(t)
	s.CreateBucket(t, "out")
	s.Put(t, "out", "run/results/00001-a.jsonl", []byte(`{"key":"a.png"}`+"\n"+`{"key":"b.png"}`+"\n"))
	s.Put(t, "out", "run/results/00002-b.jsonl", []byte(`{"key":"c.png"}`+"\n"+`{"key":"b.png"}`+"\n"))
	s.Put(t, "out", "run/maps/00001-a.tfrecord", []byte("records of a, b"))
	s.Put(t, "out", "run/maps/00002-b.tfrecord", []byte("records of c, b"))
	s.Put(t, "out", "run/maps/00003-c.tfrecord", []byte("orphan"))
	s.Put(t, "out", "run/results-00001-of-00002/00004-d.jsonl", []byte(`{"key":"other-shard.png"}`+"\n"))
	// Outputs of images keyed maps/x.png, maps/y.tfrecord.png and
	// results/z.png (inputs in folders named maps and results).
	outputs := []string{"run/maps/x.png/gradcam.jpg", "run/maps/x.png/original.jpg", "run/maps/y.tfrecord.png/gradcam.map16.png",
		"run/results/z.png/original.jpg"}
	for _, k := range outputs {
		s.Put(t, "out", k, []byte("image"))
	}
	s.Put(t, "out", "run/results/w.png/x.jsonl", []byte(`{"key":"not-a-part.png"}`+"\n"))
	d, err := OpenBucket(t.Context(), s.URL("out", "run/"), inputs.Shard{Index: 0, Count: 1}, true, 0, func(k string) bool { return k == "c.png" })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for k, want := range map[string]bool{"a.png": true, "b.png": true, "c.png": false, "other-shard.png": false, "new.png": false, "not-a-part.png": false} {
		if got := d.IsDone(k); got != want {
			t.Errorf("IsDone(%s) = %v, want %v", k, got, want)
		}
	}
	keys := s.Keys(t, "out")
	var parts []string
	for _, k := range keys {
		if strings.HasPrefix(k, "run/maps/") && strings.HasSuffix(k, ".tfrecord") {
			parts = append(parts, k)
		}
	}
	if got, want := strings.Join(parts, " "), "run/maps/00001-a.tfrecord run/maps/00002-b.tfrecord"; got != want {
		t.Errorf("TFRecord parts %q, want %q (the orphan deleted, the others kept)", got, want)
	}
	for _, k := range outputs {
		if !slices.Contains(keys, k) {
			t.Errorf("%s was deleted: an image's output taken for an orphan part", k)
		}
	}
}
