package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fakes3"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// TestBucketToBucket runs `tfcam explain` from one S3 bucket to another
// on a real S3 API (gofakes3 on 127.0.0.1) that fails every seventh
// request (503 or a cut connection), kills it with SIGKILL again and
// again while it writes, resumes, and then checks every output: each
// image has exactly one line in the shard's result parts, every file a
// line names is in the bucket and decodes, each 16-bit map equals the
// same job's on local files, the TFRecord parts hold exactly one record
// per map (read back by TensorFlow), and no orphan part is left.
func TestBucketToBucket(t *testing.T) {
	const n = 48
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, n)
	s := fakes3.Start(t)
	s.CreateBucket(t, "photos")
	s.CreateBucket(t, "maps")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "imgs"), p)
		s.Put(t, "photos", "2026/"+filepath.ToSlash(rel), data)
	}
	s.Put(t, "photos", "2026/notes.txt", []byte("not an image: not listed"))
	model := filepath.Join(fixture.Root(), "shapes", "model")
	common := []string{"explain", "--model", model, "--method", "gradcam,hirescam", "--save", "overlay,map16,tfrecord", "--batch", "4"}

	// The same job on local files: the reference maps.
	local := filepath.Join(dir, "local")
	tfcamCmd(t, append(common, "--out", local, filepath.Join(dir, "imgs"))...)

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	s.FailEach(7)
	args := append(common, "--flush-every", "0", "--out", s.URL("maps", "run1/"), s.URL("photos", "2026/"))
	parts := func() []string { return filter(s.Keys(t, "maps"), "run1/results/", ".jsonl") }
	// doneKeys is how many images the parts mark done.
	doneKeys := func() int {
		keys := map[string]bool{}
		for _, k := range parts() {
			data, _ := s.Get(t, "maps", k)
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var r results.Record
				if json.Unmarshal([]byte(line), &r) == nil {
					keys[r.Key] = true
				}
			}
		}
		return len(keys)
	}
	// Kills are placed by what the bucket shows, never by time: once the
	// run has written 1–2 more results parts, and then 0–15 more requests
	// (so that the kill lands anywhere in the writing: files, a TFRecord
	// part, a results part). A run that finishes first does not count;
	// images are added while the runs use them up, until 5 kills landed.
	const wantKills, maxRuns = 5, 20
	total, added, kills := n, 0, 0
	for i := 1; kills < wantKills; i++ {
		if i > maxRuns {
			t.Fatalf("%d kills landed in %d runs, want %d", kills, maxRuns, wantKills)
		}
		if total-doneKeys() < 16 {
			sub := fmt.Sprintf("more%d", added/16)
			for j, p := range copyImages(t, filepath.Join(dir, "imgs"), paths, sub, 16) {
				data, _ := os.ReadFile(p)
				s.Put(t, "photos", fmt.Sprintf("2026/%s/img%03d.png", sub, j), data)
			}
			total += 16
			added += 16
		}
		before := len(parts())
		target, extra := 1+rng.Intn(2), int64(rng.Intn(16))
		cmd, stderr, done := startTfcam(t, args...)
		killed := false
		requests := int64(-1) // S3 requests seen when the target part appeared
	wait:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run %d: %v\n%s", i, err, stderr.String())
				}
				break wait
			default:
			}
			if requests < 0 && len(parts()) >= before+target {
				requests = s.Requests()
			}
			if requests >= 0 && s.Requests() >= requests+extra {
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				killed = true
				kills++
				break wait
			}
			time.Sleep(2 * time.Millisecond) // how often the bucket is looked at, not a wait for it
		}
		t.Logf("run %d: kill after %d parts + %d requests: killed %v; %d parts, %d of %d images done", i, target, extra, killed, len(parts()), doneKeys(), total)
	}
	out := tfcamCmd(t, args...)
	t.Logf("%d kills; %d requests, %d failed on purpose; %d images (%d added); last run: %s", kills, s.Requests(), s.Failed(), total, added, lastLine(out))
	if s.Failed() == 0 {
		t.Error("no request failed: the test did not exercise faults")
	}
	s.FailEach(0)
	if added > 0 { // the reference maps of the added images
		tfcamCmd(t, append(common, "--out", local, filepath.Join(dir, "imgs"))...)
	}

	keys := s.Keys(t, "maps")
	seen := map[string]int{}
	for _, k := range filter(keys, "run1/results/", ".jsonl") {
		data, _ := s.Get(t, "maps", k)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var r results.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v: %q", k, err, line)
			}
			seen[r.Key]++
			for _, m := range r.Maps {
				for _, f := range []string{m.Overlay, m.Map16} {
					data, ok := s.Get(t, "maps", "run1/"+f)
					if !ok {
						t.Fatalf("%s names %s, not in the bucket", r.Key, f)
					}
					if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
						t.Errorf("%s: %s does not decode: %v", r.Key, f, err)
					}
				}
				got, _ := s.Get(t, "maps", "run1/"+m.Map16)
				want, err := os.ReadFile(filepath.Join(local, m.Map16))
				if err != nil {
					t.Fatalf("local run has no %s: %v", m.Map16, err)
				}
				if d := map16Diff(t, got, want); d > 2 {
					t.Errorf("%s: map differs from the local run's by %d of 65535", m.Map16, d)
				}
			}
		}
	}
	if len(seen) != total {
		t.Errorf("%d images have lines, want %d", len(seen), total)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s has %d lines, want 1", k, c)
		}
	}
	// TFRecord parts: one per results part, together one record per map.
	recs := filter(keys, "run1/maps/", ".tfrecord")
	if len(recs) != len(filter(keys, "run1/results/", ".jsonl")) {
		t.Errorf("%d TFRecord parts for %d results parts: orphans left", len(recs), len(filter(keys, "run1/results/", ".jsonl")))
	}
	var all bytes.Buffer
	for _, k := range recs {
		data, _ := s.Get(t, "maps", k)
		all.Write(data)
	}
	joined := filepath.Join(dir, "all.tfrecord")
	if err := os.WriteFile(joined, all.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fixture.Python(t, "check_tfrecord.py", joined, fmt.Sprint(2*total), "4")
}

// tfcamCmd runs this test binary as tfcam and returns its stderr.
func tfcamCmd(t testing.TB, args ...string) string {
	t.Helper()
	_, stderr, done := startTfcam(t, args...)
	if err := <-done; err != nil {
		t.Fatalf("tfcam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stderr.String()
}

// startTfcam starts this test binary as tfcam; done receives Wait's
// result.
func startTfcam(t testing.TB, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, stderr, done
}

func filter(keys []string, prefix, suffix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) {
			out = append(out, k)
		}
	}
	return out
}

// map16Diff is the largest difference between two 16-bit PNG maps.
func map16Diff(t *testing.T, a, b []byte) int {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	ga, gb := ia.(*image.Gray16), ib.(*image.Gray16)
	if ga.Rect != gb.Rect {
		return 65535
	}
	most := 0
	for i := 0; i+1 < len(ga.Pix); i += 2 {
		va := int(ga.Pix[i])<<8 | int(ga.Pix[i+1])
		vb := int(gb.Pix[i])<<8 | int(gb.Pix[i+1])
		most = max(most, va-vb, vb-va)
	}
	return most
}

// BenchmarkBucketThroughput compares `tfcam explain` (gradcam, default
// outputs, the shapes model) from files to a folder with the same job from
// an S3 bucket to an S3 bucket (the fake-S3 program on 127.0.0.1, internal/fakes3),
// on 200 JPEGs of 1024×768: images/s of each, start-up included in both.
// Run: make bench-bucket.
func BenchmarkBucketThroughput(b *testing.B) {
	const n = 200
	dir := b.TempDir()
	s := fakes3.Start(b)
	s.CreateBucket(b, "in")
	s.CreateBucket(b, "out")
	rng := rand.New(rand.NewSource(1))
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
		for p := range img.Pix {
			img.Pix[p] = uint8(p/4%256) + uint8(rng.Intn(16))
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("img%04d.jpg", i)
		os.MkdirAll(filepath.Join(dir, "in"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "in", name), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		s.Put(b, "in", "photos/"+name, buf.Bytes())
	}
	model := filepath.Join(fixture.Root(), "shapes", "model")
	args := []string{"explain", "--model", model, "--method", "gradcam"}
	for b.Loop() {
		for _, run := range []struct{ name, out, in string }{
			{"files", filepath.Join(dir, fmt.Sprintf("out-%d", time.Now().UnixNano())), filepath.Join(dir, "in")},
			{"bucket", s.URL("out", fmt.Sprintf("run-%d/", time.Now().UnixNano())), s.URL("in", "photos/")},
		} {
			start := time.Now()
			_, stderr, done := startTfcam(b, append(args, "--out", run.out, run.in)...)
			if err := <-done; err != nil {
				b.Fatalf("%s: %v\n%s", run.name, err, stderr)
			}
			rate := n / time.Since(start).Seconds()
			b.ReportMetric(rate, run.name+"-img/s")
		}
	}
}

// TestPredictFromBucket runs `tfcam predict --json` on a bucket prefix and
// an object URL: one answer per image, named by its URL, equal to the
// answers for the same files on disk.
func TestPredictFromBucket(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 4)
	s := fakes3.Start(t)
	s.CreateBucket(t, "in")
	for i, p := range paths {
		data, _ := os.ReadFile(p)
		s.Put(t, "in", fmt.Sprintf("set/%d.png", i), data)
	}
	model := filepath.Join(fixture.Root(), "shapes", "model")
	predict := func(args ...string) []map[string]any {
		cmd := exec.Command(os.Args[0], append([]string{"predict", "--json", "--model", model}, args...)...)
		cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("predict %v: %v\n%s", args, err, stderr.String())
		}
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("%v: %q", err, l)
			}
			out = append(out, v)
		}
		return out
	}
	fromBucket := predict(s.URL("in", "set/"))
	fromFiles := predict(paths...)
	if len(fromBucket) != len(paths) || len(fromFiles) != len(paths) {
		t.Fatalf("%d answers from the bucket, %d from files, want %d", len(fromBucket), len(fromFiles), len(paths))
	}
	byInput := map[string]string{}
	for _, a := range append(fromBucket, fromFiles...) {
		p, _ := json.Marshal(a["predictions"])
		byInput[fmt.Sprint(a["input"])] = string(p)
	}
	for i, p := range paths {
		u := s.URL("in", fmt.Sprintf("set/%d.png", i))
		b, ok := byInput[u]
		if !ok {
			t.Fatalf("no answer for %s (answers: %v)", u, fromBucket)
		}
		if b != byInput[p] {
			t.Errorf("image %d: bucket %s, files %s", i, b, byInput[p])
		}
	}
	one := predict(s.URL("in", "set/2.png"))
	if len(one) != 1 {
		t.Errorf("an object URL gave %d answers, want 1", len(one))
	}
}
