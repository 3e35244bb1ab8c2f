package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/tfcam/tfcam/imagefile"
)

// TestOneImageOneAnswer: predict, explain (with each kind of output and
// overlay size), eval and serve give the model the same pixels, so the
// same probability of the same top class to 1e-6. The photos are the
// demo's cat as JPEGs of 1000×750 (predict used to decode it at 1/2 and
// explain, for its 512-px overlay, in full: 0.525 against 0.744 for the
// issue's photo) and 2000×1500 (the model input at 1/2, a full-size
// overlay from a second decode).
func TestOneImageOneAnswer(t *testing.T) {
	for _, size := range [][2]int{{1000, 750}, {2000, 1500}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) { oneAnswer(t, size[0], size[1]) })
	}
}

func oneAnswer(t *testing.T, w, h int) {
	dir := demoModel(t)
	model := filepath.Join(dir, "model")
	img, err := imagefile.Decode(filepath.Join(dir, "photos", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(big, big.Bounds(), img, img.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, big, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	photo := filepath.Join(work, "cat.jpg")
	os.WriteFile(photo, buf.Bytes(), 0o644)

	type answer struct {
		Class int     `json:"class"`
		Score float64 `json:"score"`
	}
	got := map[string]answer{}

	stdout, stderr, err := runCLI(t, "predict", "--model", model, "--json", "--top", "1", photo)
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, stderr)
	}
	var p struct{ Predictions []answer }
	if err := json.Unmarshal([]byte(stdout), &p); err != nil || len(p.Predictions) == 0 {
		t.Fatalf("predict --json: %q: %v", stdout, err)
	}
	got["predict"] = p.Predictions[0]

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"explain (overlays, full-size view)", nil},
		{"explain --save map16 (no view)", []string{"--save", "map16"}},
		{"explain --overlay-size 256", []string{"--overlay-size", "256"}},
		{"explain --overlay-size 0 (the original's)", []string{"--overlay-size", "0"}},
	} {
		out := filepath.Join(work, "out-"+string(rune('a'+len(got))))
		args := append([]string{"explain", "--model", model, "--method", "gradcam", "--out", out}, tc.args...)
		if _, stderr, err := runCLI(t, append(args, photo)...); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, stderr)
		}
		recs := readJSONL(t, filepath.Join(out, "results.jsonl"))
		if len(recs) != 1 || len(recs[0].Predictions) == 0 {
			t.Fatalf("%s: %d records", tc.name, len(recs))
		}
		got[tc.name] = answer{recs[0].Predictions[0].Class, float64(recs[0].Predictions[0].Score)}
	}

	evalOut := filepath.Join(work, "eval")
	if _, stderr, err := runCLI(t, "eval", "--model", model, "--method", "gradcam", "--out", evalOut, photo); err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(filepath.Join(evalOut, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Images []struct {
			Class int     `json:"class"`
			Base  float64 `json:"base"`
		} `json:"images"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || len(ev.Images) != 1 {
		t.Fatalf("eval metrics.json: %v (%d images)", err, len(ev.Images))
	}
	got["eval"] = answer{ev.Images[0].Class, ev.Images[0].Base}

	s := startServe(t, "--model", model)
	res, err := http.Post("http://"+s.url+"/v1/models/efficientnet_lite0:predict", "image/jpeg", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var sv struct {
		Predictions []struct {
			Predictions []answer `json:"predictions"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(body, &sv); err != nil || len(sv.Predictions) == 0 || len(sv.Predictions[0].Predictions) == 0 {
		t.Fatalf("serve :predict (%d): %s: %v", res.StatusCode, body, err)
	}
	got["serve"] = sv.Predictions[0].Predictions[0]
	s.cmd.Process.Signal(os.Interrupt)
	s.wait(t)

	want := got["predict"]
	t.Logf("predict: class %d, p = %.7f", want.Class, want.Score)
	if want.Score > 0.99 {
		t.Fatalf("p = %v: a saturated probability cannot tell decodes apart", want.Score)
	}
	for name, a := range got {
		if a.Class != want.Class || math.Abs(a.Score-want.Score) > 1e-6 {
			t.Errorf("%s: class %d p = %.7f, predict: class %d p = %.7f", name, a.Class, a.Score, want.Class, want.Score)
		}
	}
}
