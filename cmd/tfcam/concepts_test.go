package main

import (
	"context"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// TestExplainConcepts: --method dff writes, per image, the concept
// overlay (PNG, the image above a legend row per concept), a 16-bit PNG
// per concept that holds that concept's map, one npy [n,H,W] of them,
// and each concept's labels (the shapes model's class names) in
// results.jsonl; the other methods' files are as before.
func TestExplainConcepts(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	o := explainOpts(filepath.Join(dir, "out"))
	o.methods, o.overlayFormat = "gradcam,dff:concepts=3:iterations=40", "jpeg"
	if err := explainRun(context.Background(), o, paths, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, l := range fixture.Load(t, "shapes").Meta.Labels {
		names[l] = true
	}
	recs := readJSONL(t, filepath.Join(o.out, "results.jsonl"))
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for _, rec := range recs {
		if len(rec.Maps) != 2 || rec.Maps[0].Method != "gradcam" || rec.Maps[0].Concepts != nil || rec.Maps[0].Overlay != rec.Key+"/gradcam.jpg" {
			t.Fatalf("%s: maps %+v: want gradcam's as before, then dff's", rec.Key, rec.Maps)
		}
		d := rec.Maps[1]
		if d.Method != "dff" || len(d.Concepts) != 3 || d.Overlay != rec.Key+"/dff.png" || d.NPY != rec.Key+"/dff.npy" || d.Map16 != "" {
			t.Fatalf("%s: dff record %+v", rec.Key, d)
		}
		stack, err := npy.ReadFile(filepath.Join(o.out, d.NPY))
		if err != nil {
			t.Fatal(err)
		}
		if len(stack.Shape) != 3 || stack.Shape[0] != 3 || stack.Shape[1] != 64 || stack.Shape[2] != 64 {
			t.Fatalf("%s: shape %v, want [3 64 64]", d.NPY, stack.Shape)
		}
		hw := 64 * 64
		for c, rc := range d.Concepts {
			if rc.Concept != c+1 || len(rc.Labels) != 4 || !names[rc.Labels[0].Label] || rc.Labels[0].Score < rc.Labels[1].Score {
				t.Errorf("%s concept %d: %+v: want 4 labels named, best first", rec.Key, c, rc)
			}
			img := readPNG16(t, filepath.Join(o.out, rc.Map16))
			for i, v := range stack.F32[c*hw : (c+1)*hw] {
				if got := img[i]; got != uint16(float64(v)*65535+0.5) {
					t.Fatalf("%s pixel %d: %d, npy %g", rc.Map16, i, got, v)
				}
			}
		}
		f, err := os.Open(filepath.Join(o.out, d.Overlay))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Height != 64+3*16+4 || cfg.Width < 64 {
			t.Errorf("%s: %dx%d, want the 64x64 image above 3 legend rows", d.Overlay, cfg.Width, cfg.Height)
		}
	}
}

// readPNG16 reads a 16-bit grayscale PNG's values, row-major.
func readPNG16(t *testing.T, path string) []uint16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := make([]uint16, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g, _, _, _ := img.At(x, y).RGBA()
			out = append(out, uint16(g))
		}
	}
	return out
}
