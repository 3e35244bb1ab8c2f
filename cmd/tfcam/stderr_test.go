package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeepLine: TensorFlow's and Abseil's log lines are dropped below the
// level, everything else is kept whatever the level.
func TestKeepLine(t *testing.T) {
	const (
		preamble  = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
		abslInfo  = "I0000 00:00:1796665229.939538    9205 mlir_graph_optimization_pass.cc:401] MLIR V1 optimization pass is not enabled\n"
		abslWarn  = "W1207 17:40:32.454811    9205 some_pass.cc:12] a warning\n"
		abslErr   = "E1207 17:40:32.454811   12 x.cc:1] an error\n"
		abslFat   = "F1207 17:40:32.454811   12 x.cc:1] Check failed: a == b\n"
		tslInfo   = "2026-12-07 17:40:32.454811: I tensorflow/cc/saved_model/reader.cc:83] Reading SavedModel from: m\n"
		tslWarn   = "2026-12-07 17:40:32.454811: W tensorflow/core/lib/png/png_io.cc:89] PNG warning: iCCP: known incorrect sRGB profile\n"
		tslErr    = "2026-12-07 17:40:32.454811: E tensorflow/core/lib/jpeg/jpeg_mem.cc:329] Premature end of JPEG data. Stopped at line 174/300\n"
		tfcam     = "tfcam predict: 2 images, model m, preprocess tf, CPU only\n"
		goPanic   = "panic: runtime error: index out of range [3] with length 3\n"
		rawC      = "Corrupt JPEG data: 3 extraneous bytes before marker 0xd9\n"
		lookAlike = "I0000 is not a log line without its place]\n"
	)
	// want[level] for level 0..3.
	cases := []struct {
		line string
		want [4]bool
	}{
		{preamble, [4]bool{true, false, false, false}},
		{abslInfo, [4]bool{true, false, false, false}},
		{abslWarn, [4]bool{true, true, false, false}},
		{abslErr, [4]bool{true, true, true, false}},
		{abslFat, [4]bool{true, true, true, true}},
		{tslInfo, [4]bool{true, false, false, false}},
		{tslWarn, [4]bool{true, true, false, false}},
		{tslErr, [4]bool{true, true, true, false}},
		{tfcam, [4]bool{true, true, true, true}},
		{goPanic, [4]bool{true, true, true, true}},
		{rawC, [4]bool{true, true, true, true}},
		{lookAlike, [4]bool{true, true, true, true}},
	}
	for _, tc := range cases {
		for level, want := range tc.want {
			if got := keepLine(tc.line, level); got != want {
				t.Errorf("level %d: keepLine(%q) = %v, want %v", level, tc.line, got, want)
			}
		}
	}
	// copyKept keeps the order and a last line without its newline.
	var out bytes.Buffer
	copyKept(&out, strings.NewReader(abslInfo+tfcam+tslWarn+goPanic+"last words"), 2)
	if want := tfcam + goPanic + "last words"; out.String() != want {
		t.Errorf("copyKept:\n%q\nwant\n%q", out.String(), want)
	}
}

// TestTensorFlowQuiet: `tfcam predict` with no TF_CPP_MIN_LOG_LEVEL set
// prints no TensorFlow line — not Abseil's start-up pair, not the PNG
// decoder's iCCP warning on the demo's cat photo, not the JPEG decoder's
// lines on a truncated JPEG, which tfcam reports itself, once, naming the
// file. TF_CPP_MIN_LOG_LEVEL=0 shows them again: the run would print them,
// so their absence above is the filter's doing.
func TestTensorFlowQuiet(t *testing.T) {
	dir := demoModel(t)
	in := t.TempDir()
	cat, err := os.ReadFile(filepath.Join(dir, "photos", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cat, []byte("iCCP")) {
		t.Fatal("chelsea.png has no iCCP chunk: the test needs the PNG decoder's warning")
	}
	os.WriteFile(filepath.Join(in, "cat.png"), cat, 0o644)
	jpg := encodeJPEG(t, 96, 64)
	os.WriteFile(filepath.Join(in, "cut.jpg"), jpg[:len(jpg)*2/3], 0o644)

	run := func(level string) string {
		cmd := exec.Command(os.Args[0], "predict", "--model", filepath.Join(dir, "model"), in)
		env := []string{"TFCAM_RUN_MAIN=1"}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "TF_CPP_MIN_LOG_LEVEL=") {
				env = append(env, e)
			}
		}
		if level != "" {
			env = append(env, "TF_CPP_MIN_LOG_LEVEL="+level)
		}
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil {
			t.Errorf("TF_CPP_MIN_LOG_LEVEL=%q: exit 0 with a truncated JPEG among the inputs", level)
		}
		return stderr.String()
	}
	tfLine := regexp.MustCompile(`(?m)^(WARNING: All log messages|[IWEF]\d{4} \d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d:[\d.]+: [IWEF] )|Premature end of JPEG|Input file read error`)

	quiet := run("")
	if m := tfLine.FindAllString(quiet, -1); len(m) > 0 {
		t.Errorf("TensorFlow's lines on the console: %q\n%s", m, quiet)
	}
	if n := len(regexp.MustCompile(`(?m)^.*cut\.jpg.*$`).FindAllString(quiet, -1)); n != 1 || !strings.Contains(quiet, "truncated") {
		t.Errorf("the truncated JPEG is on %d lines (want one, saying truncated):\n%s", n, quiet)
	}
	if !strings.Contains(quiet, "tfcam predict: 2 images") {
		t.Errorf("tfcam's own header is missing:\n%s", quiet)
	}
	if loud := run("0"); !tfLine.MatchString(loud) {
		t.Errorf("TF_CPP_MIN_LOG_LEVEL=0 shows no TensorFlow line: the quiet run proves nothing:\n%s", loud)
	}
}

// encodeJPEG encodes a w×h gradient as a baseline JPEG.
func encodeJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
