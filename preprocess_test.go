package tfcam_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/fixture"
)

// bare is model dir as a user's own export: the same SavedModel in a
// folder of its own, without tfcam.json or a meta.json beside it.
func bare(t *testing.T, dir string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "model")
	if err := os.Mkdir(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "tfcam.json" {
			continue
		}
		abs, err := filepath.Abs(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(to, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestPreprocessFrom: the preprocessing a model is fed, and why, by
// precedence: the caller's choice, the preset, a uint8 input, a scaling the
// graph does itself (a Keras Rescaling layer: the model takes 0..255, and
// [0,1] values would be scaled twice), else unit as the default.
func TestPreprocessFrom(t *testing.T) {
	shapes, rescaling, uint8in := fixture.Load(t, "shapes"), fixture.Load(t, "rescaling"), fixture.Load(t, "uint8_input")
	for _, tc := range []struct {
		name string
		dir  string
		opts tfcam.Options
		want imagefile.Preprocess
		from string
	}{
		{"the caller's", shapes.ModelDir, tfcam.Options{Preprocess: imagefile.TF}, imagefile.TF, "--preprocess"},
		{"the preset's", shapes.ModelDir, tfcam.Options{}, imagefile.Unit, "preset"},
		{"a uint8 input", uint8in.ModelDir, tfcam.Options{}, imagefile.Raw, "uint8"},
		{"a Rescaling layer", bare(t, rescaling.ModelDir), tfcam.Options{}, imagefile.Raw, "scales its input by 0.00392157"},
		{"a Rescaling layer, overridden", bare(t, rescaling.ModelDir), tfcam.Options{Preprocess: imagefile.Unit}, imagefile.Unit, "--preprocess"},
		{"nothing", bare(t, shapes.ModelDir), tfcam.Options{}, imagefile.Unit, "the default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tfcam.Open(tc.dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Preprocess != tc.want || !strings.Contains(m.PreprocessFrom, tc.from) {
				t.Errorf("preprocess %s (%s), want %s (%s…)", m.Preprocess, m.PreprocessFrom, tc.want, tc.from)
			}
		})
	}
}

// TestCheckPreprocess: the pretrained EfficientNet-Lite0 (trained on
// [−1,1] inputs) exported without tfcam.json is fed unit by default; the
// check names tf as the preset it is clearly more confident with. The
// shapes model, trained on [0,1] inputs, is not told to change.
func TestCheckPreprocess(t *testing.T) {
	demo := fixture.DemoDir()
	shapes := fixture.Load(t, "shapes")
	for _, tc := range []struct {
		name, dir, images string
		want              imagefile.Preprocess
	}{
		{"EfficientNet-Lite0 fed unit", bare(t, filepath.Join(demo, "model")), filepath.Join(demo, "photos"), imagefile.TF},
		{"shapes fed unit", bare(t, shapes.ModelDir), filepath.Join(shapes.Dir, "eval"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tfcam.Open(tc.dir, tfcam.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			c, err := m.CheckPreprocess(context.Background(), inputs.Sample([]string{tc.images}, 4))
			if err != nil {
				t.Fatal(err)
			}
			if c.Images == 0 || c.Better != tc.want {
				t.Errorf("%s; confidences %v; want better %q", c, c.Confidence, tc.want)
			}
		})
	}
}
