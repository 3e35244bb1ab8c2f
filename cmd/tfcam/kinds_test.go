package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// runCLI runs this test binary as the tfcam command (see TestMain) and
// returns its stdout, stderr and error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// writeInputPNGs writes a fixture's inputs.npy as 8-bit PNGs, mapping
// values lo..hi to 0..255 (rounded), and returns the file paths.
func writeInputPNGs(t *testing.T, f *fixture.Fixture, dir string, lo, hi float32) []string {
	t.Helper()
	in := f.Array(t, "inputs")
	n, h, w := in.Shape[0], in.Shape[1], in.Shape[2]
	var paths []string
	for i := 0; i < n; i++ {
		path := filepath.Join(dir, f.Name+"_"+string(rune('0'+i))+".png")
		writeRGBPNG(t, path, w, h, func(x, y int) [3]uint8 {
			p := in.F32[((i*h+y)*w+x)*3:]
			v := func(c int) uint8 { return uint8(math.Round(float64((p[c] - lo) / (hi - lo) * 255))) }
			return [3]uint8{v(0), v(1), v(2)}
		})
		paths = append(paths, path)
	}
	return paths
}

// writeRGBPNG writes a w×h 8-bit RGB PNG whose pixel (x, y) is rgb(x, y).
func writeRGBPNG(t *testing.T, path string, w, h int, rgb func(x, y int) [3]uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := rgb(x, y)
			img.SetNRGBA(x, y, color.NRGBA{c[0], c[1], c[2], 255})
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := png.Encode(fh, img); err != nil {
		t.Fatal(err)
	}
}

type predictLine struct {
	Input       string               `json:"input"`
	Predictions []results.Prediction `json:"predictions"`
}

func readPredictLines(t *testing.T, out string) map[string]predictLine {
	t.Helper()
	lines := map[string]predictLine{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l predictLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("predict --json printed %q: %v", sc.Text(), err)
		}
		lines[filepath.Base(l.Input)] = l
	}
	return lines
}

// TestModelKindsExplain: `tfcam explain` on real image files works for
// each kind of signature issue 14 added and writes the maps, with the
// layer the fixture declares.
func TestModelKindsExplain(t *testing.T) {
	for _, name := range []string{"mixed_float16", "uint8_input", "two_outputs", "string_input"} {
		t.Run(name, func(t *testing.T) {
			f := fixture.Load(t, name)
			dir := t.TempDir()
			imgs := writeInputPNGs(t, f, dir, 0, 255)
			if name == "mixed_float16" || name == "two_outputs" {
				imgs = writeInputPNGs(t, f, dir, -1, 1)
			}
			out := filepath.Join(dir, "out")
			_, stderr, err := runCLI(t, append([]string{"explain", "--model", f.ModelDir, "--method", "gradcam,saliency,scorecam",
				"--save", "map16,npy", "--out", out}, imgs[:2]...)...)
			if err != nil {
				t.Fatalf("explain: %v\n%s", err, stderr)
			}
			recs := readJSONL(t, filepath.Join(out, "results.jsonl"))
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2\n%s", len(recs), stderr)
			}
			for _, r := range recs {
				if r.Layer != f.Meta.DefaultLayer || len(r.Maps) != 3 || len(r.Predictions) == 0 {
					t.Errorf("record %+v: want layer %q, 3 maps", r, f.Meta.DefaultLayer)
				}
				for _, m := range r.Maps {
					for _, p := range []string{m.Map16, m.NPY} {
						if st, err := os.Stat(filepath.Join(out, p)); p == "" || err != nil || st.Size() == 0 {
							t.Errorf("%s: %s map %q missing (%v)", r.Input, m.Method, p, err)
						}
					}
				}
			}
		})
	}
}

// TestUint8InputPredict: a uint8 model's default pixel preset is raw
// (0..255), so predicting 8-bit PNGs of its inputs gives exactly what the
// uint8 model computed in Python on them.
func TestUint8InputPredict(t *testing.T) {
	f := fixture.Load(t, "uint8_input")
	dir := t.TempDir()
	imgs := writeInputPNGs(t, f, dir, 0, 255)
	stdout, stderr, err := runCLI(t, append([]string{"predict", "--json", "--top", "5", "--model", f.ModelDir}, imgs...)...)
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, stderr)
	}
	lines := readPredictLines(t, stdout)
	probs := f.Array(t, "probs")
	for i, path := range imgs {
		l, ok := lines[filepath.Base(path)]
		if !ok {
			t.Fatalf("no prediction for %s:\n%s", path, stdout)
		}
		for _, p := range l.Predictions {
			if want := probs.F32[i*f.Meta.Classes+p.Class]; math.Abs(float64(p.Score-want)) > 1e-5 {
				t.Errorf("image %d class %d: score %g, Python's uint8 model %g", i, p.Class, p.Score, want)
			}
		}
	}
}

// TestStringInputPredict: for a model that takes JPEG bytes, tfcam decodes
// the JPEG itself and feeds the model's decoded batch; its top class must be
// the one the model's own serving function gave on the same bytes
// (serving_top1.json, from Python), and the probabilities close to them.
// The JPEGs are at the model's size (32×32), so the model's resize is the
// identity and only the two decoders could differ (both are libjpeg via
// TensorFlow's DecodeJpeg; measured: equal to 1e-6).
func TestStringInputPredict(t *testing.T) {
	f := fixture.Load(t, "string_input")
	raw, err := os.ReadFile(filepath.Join(f.Dir, "serving_top1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var serving map[string]struct {
		Class         int       `json:"class"`
		Probabilities []float32 `json:"probabilities"`
	}
	if err := json.Unmarshal(raw, &serving); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "predict", "--json", "--top", "4", "--model", f.ModelDir, filepath.Join(f.Dir, "jpeg"))
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "preprocess raw") { // a JPEG-string input takes 0..255 pixels
		t.Errorf("predict does not say which preprocessing ran:\n%s", stderr)
	}
	lines := readPredictLines(t, stdout)
	if len(lines) != len(serving) || len(serving) == 0 {
		t.Fatalf("%d predictions for %d JPEGs:\n%s", len(lines), len(serving), stdout)
	}
	for name, want := range serving {
		l := lines[name]
		if len(l.Predictions) == 0 || l.Predictions[0].Class != want.Class {
			t.Errorf("%s: top class %+v, the serving function's is %d", name, l.Predictions, want.Class)
			continue
		}
		for _, p := range l.Predictions {
			if d := math.Abs(float64(p.Score - want.Probabilities[p.Class])); d > 1e-4 {
				t.Errorf("%s class %d: %g, serving function %g", name, p.Class, p.Score, want.Probabilities[p.Class])
			}
		}
	}
}

// TestModelKindErrors: refusals of the CLI name the flag to use.
func TestModelKindErrors(t *testing.T) {
	two := fixture.Load(t, "two_outputs")
	dir := t.TempDir()
	img := writeInputPNGs(t, two, dir, -1, 1)[0]
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown output", []string{"predict", "--model", two.ModelDir, "--output", "logits", img},
			[]string{`no output "logits"`, `"output_0" float32 [-1 7]`, `"output_1" float32 [-1 12]`, "--output KEY"}},
		{"unknown input", []string{"layers", "--model", two.ModelDir, "--input", "pixels"},
			[]string{`no input "pixels"`, `"images" float32 [-1 32 32 3]`, "--input KEY"}},
		{"uint8 read by a shift", []string{"layers", "--model", fixture.Bad(t, "bad_uint8_shift")},
			[]string{"uint8 image input", "RightShift"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := runCLI(t, c.args...)
			if err == nil {
				t.Fatalf("tfcam %q succeeded", c.args)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestLayersSaysHowInputIsFed: `tfcam layers` tells how tfcam feeds a
// uint8 or encoded input and in which dtype the default layer computes.
func TestLayersSaysHowInputIsFed(t *testing.T) {
	cases := []struct {
		fixture string
		want    []string
	}{
		{"uint8_input", []string{`input "image_uint8" is uint8 [-1 32 32 3]`, "float32 pixel values 0..255"}},
		{"string_input", []string{`input "image_bytes" takes encoded images (string [-1])`, "map/TensorArrayV2Stack/TensorListStack [-1 32 32 3]", "--input-tensor"}},
		{"mixed_float16", []string{`layer "last_conv" computes in float16`, "maps in float32"}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, "layers", "--model", fixture.Load(t, c.fixture).ModelDir)
			if err != nil {
				t.Fatalf("layers: %v\n%s", err, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output does not mention %q:\n%s", w, stdout)
				}
			}
		})
	}
}
