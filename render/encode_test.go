package render

import (
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePNGRoundTrip(t *testing.T) {
	m := ramp(5, 4)
	gray, err := Gray16(m, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		img  image.Image
	}{
		{"nrgba", noise(31, 17, 3)},
		{"gray16", gray},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", tt.name+".png")
			if err := WritePNG(path, tt.img); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			b := tt.img.Bounds()
			if got.Bounds() != b {
				t.Fatalf("bounds %v, want %v", got.Bounds(), b)
			}
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r0, g0, b0, a0 := tt.img.At(x, y).RGBA()
					r1, g1, b1, a1 := got.At(x, y).RGBA()
					if r0 != r1 || g0 != g1 || b0 != b1 || a0 != a1 {
						t.Fatalf("pixel (%d,%d) differs after round trip", x, y)
					}
				}
			}
		})
	}
}

func TestWriteJPEG(t *testing.T) {
	img := noise(40, 30, 5)
	tests := []struct {
		name    string
		img     image.Image
		quality int
		wantErr bool
	}{
		{"default quality", img, DefaultJPEGQuality, false},
		{"lowest", img, 1, false},
		{"highest", img, 100, false},
		{"quality 0", img, 0, true},
		{"quality 101", img, 101, true},
		{"nil image", nil, 90, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.jpg")
			err := WriteJPEG(path, tt.img, tt.quality)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want an error naming %s", err, path)
				}
				if got := listAll(t, dir); len(got) != 0 {
					t.Fatalf("files = %q, want none", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := jpeg.DecodeConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != 40 || cfg.Height != 30 {
				t.Fatalf("size %d×%d, want 40×30", cfg.Width, cfg.Height)
			}
		})
	}
}

// TestWriteJPEGOpaqueFastPath checks that encoding an opaque NRGBA through
// the RGBA view gives the same file as the encoder's generic path.
func TestWriteJPEGOpaqueFastPath(t *testing.T) {
	img := noise(33, 21, 4)
	dir := t.TempDir()
	fast, slow := filepath.Join(dir, "fast.jpg"), filepath.Join(dir, "slow.jpg")
	if err := WriteJPEG(fast, img, 85); err != nil {
		t.Fatal(err)
	}
	// Hiding the concrete type forces the generic path.
	if err := WriteJPEG(slow, struct{ image.Image }{img}, 85); err != nil {
		t.Fatal(err)
	}
	a, b := readFile(t, fast), readFile(t, slow)
	if a != b {
		t.Fatalf("fast path output differs from generic path (%d vs %d bytes)", len(a), len(b))
	}
}

func TestWritePNGNil(t *testing.T) {
	dir := t.TempDir()
	if err := WritePNG(filepath.Join(dir, "x.png"), nil); err == nil {
		t.Fatal("want error")
	}
	if got := listAll(t, dir); len(got) != 0 {
		t.Fatalf("files = %q, want none", got)
	}
}

func BenchmarkWritePNG(b *testing.B) {
	out, err := Overlay(noise(640, 480, 1), ramp(14, 14), 14, 14, Jet, 0.4)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "overlay.png")
	for b.Loop() {
		if err := WritePNG(path, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJPEG(b *testing.B) {
	out, err := Overlay(noise(640, 480, 1), ramp(14, 14), 14, 14, Jet, 0.4)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "overlay.jpg")
	for b.Loop() {
		if err := WriteJPEG(path, out, DefaultJPEGQuality); err != nil {
			b.Fatal(err)
		}
	}
}
