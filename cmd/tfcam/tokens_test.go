package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
)

// writeVitImages writes the vit fixture's inputs (values in [-1,1]) as
// PNG files, for --preprocess tf.
func writeVitImages(t *testing.T, dir string) []string {
	t.Helper()
	in := fixture.Load(t, "vit").Array(t, "inputs")
	n, h, w := in.Shape[0], in.Shape[1], in.Shape[2]
	var paths []string
	for i := 0; i < n; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := in.F32[((i*h+y)*w+x)*3:]
				px := func(v float32) uint8 { return uint8((v+1)*127.5 + 0.5) }
				img.SetNRGBA(x, y, color.NRGBA{px(p[0]), px(p[1]), px(p[2]), 255})
			}
		}
		path := filepath.Join(dir, "img"+string(rune('0'+i))+".png")
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(fh, img); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		paths = append(paths, path)
	}
	return paths
}

// TestExplainTransformer runs `tfcam explain` on the vit fixture: the
// token layer is chosen and viewed as its grid without flags; a method that
// does not apply (cam) is reported and left out while the others' maps are
// written; at the final norm (no gradient reaches the patch tokens) every
// map is flagged flat in results.jsonl and counted in the summary.
func TestExplainTransformer(t *testing.T) {
	dir := t.TempDir()
	imgs := writeVitImages(t, dir)
	cases := []struct {
		name, layer, tokens string
		flat                bool
	}{
		{"default layer, auto tokens", "", "auto", false},
		{"final norm, tokens given", "final_norm", "drop=1,grid=4x4", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			o := explainOpts(out)
			o.model = fixture.Load(t, "vit").ModelDir
			o.preprocess = "tf"
			o.methods = "cam,gradcam,scorecam:topn=8"
			o.layer, o.tokens = c.layer, c.tokens
			var log bytes.Buffer
			if err := explainRun(context.Background(), o, imgs, nil, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			if !strings.Contains(log.String(), "warning: explainer: cam does not apply") {
				t.Errorf("no warning about cam in the log:\n%s", log.String())
			}
			recs := readJSONL(t, filepath.Join(out, "results.jsonl"))
			if len(recs) != len(imgs) {
				t.Fatalf("%d records for %d images", len(recs), len(imgs))
			}
			flat := 0
			for _, r := range recs {
				if len(r.Maps) != 2 || r.Maps[0].Method != "gradcam" || r.Maps[1].Method != "faster-scorecam" {
					t.Fatalf("%s: maps %+v, want gradcam and faster-scorecam", r.Key, r.Maps)
				}
				for _, mp := range r.Maps {
					if _, err := os.Stat(filepath.Join(out, mp.Overlay)); err != nil {
						t.Error(err)
					}
					if mp.Method == "gradcam" && mp.Flat != c.flat {
						t.Errorf("%s gradcam: flat = %v, want %v", r.Key, mp.Flat, c.flat)
					}
					if mp.Flat {
						flat++
					}
				}
			}
			if c.flat != strings.Contains(log.String(), " flat maps") {
				t.Errorf("summary and flat = %v disagree:\n%s", c.flat, log.String())
			}
			t.Logf("%d flat maps; log:\n%s", flat, log.String())
		})
	}
}
