package results

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fakes3"
)

// TestMerge merges two shards' results, on disk and in a bucket: one line
// per key (the later one wins: a --force rerun), cut lines skipped, keys in
// order, and --check finds the one missing file.
func TestMerge(t *testing.T) {
	line := func(key, overlay string) string {
		b, _ := json.Marshal(Record{Key: key, Input: "in/" + key, Maps: []Map{{Explanation: Explanation{Method: "gradcam"}, Overlay: overlay}}})
		return string(b)
	}
	files := map[string]string{ // result file → lines (for a bucket: part under results*/)
		"results-00000-of-00002":       line("b.png", "b.png/gradcam.jpg") + "\n" + line("a.png", "a.png/old.jpg") + "\n",
		"results-00001-of-00002":       line("c.png", "c.png/gradcam.jpg") + "\n" + `{"key":"cut`,
		"results-00000-of-00002/later": line("a.png", "a.png/gradcam.jpg") + "\n",
	}
	outputs := []string{"a.png/gradcam.jpg", "b.png/gradcam.jpg"} // c.png's is missing
	check := func(t *testing.T, out string) {
		var buf bytes.Buffer
		st, err := Merge(t.Context(), out, true, &buf)
		if err != nil {
			t.Fatal(err)
		}
		var keys, overlays []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var r Record
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, r.Key)
			overlays = append(overlays, r.Maps[0].Overlay)
		}
		if got := strings.Join(keys, " "); got != "a.png b.png c.png" {
			t.Errorf("keys %q, want a.png b.png c.png", got)
		}
		if overlays[0] != "a.png/gradcam.jpg" {
			t.Errorf("a.png's line is the older one (%s)", overlays[0])
		}
		if st.Files != 3 || st.Replaced != 1 || st.Bad != 1 || st.Checked != 3 || len(st.Missing) != 1 || st.Missing[0] != "c.png/gradcam.jpg" {
			t.Errorf("stats %+v, want 3 files, 1 replaced, 1 bad, 3 checked, c.png/gradcam.jpg missing", st)
		}
	}
	t.Run("folder", func(t *testing.T) {
		dir := t.TempDir()
		// On disk a shard is one file: the later line is appended to it.
		os.WriteFile(filepath.Join(dir, "results-00000-of-00002.jsonl"), []byte(files["results-00000-of-00002"]+files["results-00000-of-00002/later"]), 0o644)
		os.WriteFile(filepath.Join(dir, "results-00001-of-00002.jsonl"), []byte(files["results-00001-of-00002"]), 0o644)
		os.WriteFile(filepath.Join(dir, "results-00000-of-00002.jsonl.tmp"), []byte("not a results file"), 0o644)
		for _, f := range outputs {
			os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
		}
		var buf bytes.Buffer
		st, err := Merge(t.Context(), dir, true, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if st.Files != 2 {
			t.Errorf("%d files read, want the 2 results files", st.Files)
		}
		if !strings.Contains(buf.String(), `"a.png/gradcam.jpg"`) || strings.Contains(buf.String(), "old.jpg") {
			t.Errorf("a.png: want the later line only:\n%s", buf.String())
		}
	})
	t.Run("bucket", func(t *testing.T) {
		s := fakes3.Start(t)
		s.CreateBucket(t, "out")
		s.Put(t, "out", "run/results-00000-of-00002/001.jsonl", []byte(files["results-00000-of-00002"]))
		s.Put(t, "out", "run/results-00000-of-00002/002.jsonl", []byte(files["results-00000-of-00002/later"]))
		s.Put(t, "out", "run/results-00001-of-00002/001.jsonl", []byte(files["results-00001-of-00002"]))
		for _, f := range outputs {
			s.Put(t, "out", "run/"+f, []byte("x"))
		}
		check(t, s.URL("out", "run/"))
	})
}

// TestMergeLongBadLine: a line of any length that is not a record (a run
// of NULs a power cut left) is one unreadable line; the lines after it
// are merged.
func TestMergeLongBadLine(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	b.WriteString(`{"key":"a.png"}` + "\n")
	b.Write(make([]byte, 70<<20))                                      // longer than any scanner buffer tfcam used
	b.WriteString("\n" + `{"key":"b.png"}` + "\n" + `{"key":"c.png"}`) // no final newline
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := Merge(t.Context(), dir, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Images != 3 || st.Bad != 1 || strings.Count(out.String(), "\n") != 3 {
		t.Errorf("merged %+v:\n%.200s; want 3 images, 1 unreadable line", st, out.String())
	}
}
