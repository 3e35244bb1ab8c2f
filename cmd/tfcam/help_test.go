package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
)

// flagHead is a flag's line in -h: "  --name VALUE   text".
var flagHead = regexp.MustCompile(`^  --([a-z0-9-]+)(?: (\S+))?`)

// TestHelpEveryCommand: each command's -h says how to call it, what it
// does, shows examples, and lists its flags under headings, each flag's
// value named by its type or an upper-case word: a back-quoted word in a
// usage text ("see `tfcam layers`") is taken by the flag package as the
// value's name and would show as "--layer tfcam".
func TestHelpEveryCommand(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, c.name, "-h")
			if err != nil {
				t.Fatalf("tfcam %s -h: %v\n%s", c.name, err, stderr)
			}
			help := stdout + stderr
			lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "Usage: tfcam "+c.name) {
				t.Errorf("first line %q is not a synopsis", lines[0])
			}
			if strings.Contains(help, "Usage of") {
				t.Error(`-h says "Usage of"`)
			}
			if n := strings.Count(help, "\n  # "); !strings.Contains(help, "\nExamples:\n") || n < 3 || n > 5 {
				t.Errorf("%d examples, want 3 to 5 under Examples:", n)
			}
			if strings.Contains(help, "`") {
				t.Error("-h shows a back-quote")
			}
			for _, l := range lines {
				m := flagHead.FindStringSubmatch(l)
				if m == nil || m[2] == "" {
					continue
				}
				if v := m[2]; !regexp.MustCompile(`^([A-Z][A-Z|]*|string|int|float|duration|value|uint)$`).MatchString(v) {
					t.Errorf("--%s's value shows as %q: a misread back-quoted word?\n%s", m[1], v, l)
				}
			}
		})
	}
}

// TestHelpExplainShort: explain -h fits a screen and puts the flags every
// run sets first.
func TestHelpExplainShort(t *testing.T) {
	stdout, stderr, err := runCLI(t, "explain", "-h")
	if err != nil {
		t.Fatal(err)
	}
	help := stdout + stderr
	if n := strings.Count(help, "\n"); n >= 80 {
		t.Errorf("explain -h is %d lines, want fewer than 80", n)
	}
	var first []string
	for _, l := range strings.Split(help, "\n") {
		if m := flagHead.FindStringSubmatch(l); m != nil {
			first = append(first, m[1])
		}
	}
	if len(first) < 3 || !slices.Equal(first[:3], []string{"model", "out", "method"}) {
		t.Errorf("explain -h lists the flags %q first, want model, out, method", first[:min(3, len(first))])
	}
	if strings.Contains(help, "integrated-gradients:steps") || !strings.Contains(help, "tfcam methods") {
		t.Error("explain -h should point to tfcam methods instead of listing the method options")
	}
}

// TestHelpFlagsNeverHidden: a flag the help's groups do not name is
// listed under "Other flags", so adding a flag cannot hide it.
func TestHelpFlagsNeverHidden(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("model", "", "the model")
	fs.Int("new-flag", 3, "a flag nobody grouped")
	var b bytes.Buffer
	help{synopsis: []string{"tfcam x"}, main: []string{"model"}}.write(&b, fs)
	got := b.String()
	if !strings.Contains(got, "Other flags:\n  --new-flag int") || !strings.Contains(got, "(default 3)") {
		t.Errorf("an ungrouped flag is not listed:\n%s", got)
	}
	if strings.Count(got, "--model") != 1 {
		t.Errorf("--model listed other than once:\n%s", got)
	}
}

// TestMethodsTable: `tfcam methods` lists every registered method, in
// registry order, with its family and passes per image.
func TestMethodsTable(t *testing.T) {
	var b bytes.Buffer
	if err := methodTable(&b); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows := map[string][]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		f := strings.Fields(l)
		if len(f) > 3 && slices.Contains([]string{"gradient", "input", "more"}, f[1]) {
			got = append(got, f[0])
			rows[f[0]] = f
		}
	}
	var want []string
	for _, in := range explainer.Methods() {
		want = append(want, in.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("methods lists %q, want the registry's %q", got, want)
	}
	// Score-CAM scores each of the K=1280 channels; Grad-CAM only shares.
	if r := rows["scorecam"]; r == nil || r[2] != "1281" || r[3] != "K" {
		t.Errorf("scorecam row %q, want 1281 passes growing with K", r)
	}
	if r := rows["gradcam"]; r == nil || r[2] != "1" || r[3] != "-" {
		t.Errorf("gradcam row %q, want 1 pass", r)
	}
}

// TestMethodsDetail: `tfcam methods NAME` shows each option with the
// value the method uses when it is left out (the resolved field of the
// parsed spec, not the registration's text) and the shared options the
// method takes.
func TestMethodsDetail(t *testing.T) {
	for _, in := range explainer.Methods() {
		var b bytes.Buffer
		if err := methodDetail(&b, in.Name); err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		got := b.String()
		ms, err := explainer.ParseMethods(in.Name)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		for _, kv := range explainer.Options(explainer.Resolve(ms[0])) {
			if !strings.Contains(got, "  "+kv+" ") {
				t.Errorf("%s: methods does not show %s (the resolved default) in\n%s", in.Name, kv, got)
			}
		}
		if !strings.Contains(got, "Cost: ") || !strings.HasPrefix(got, in.Name+" (") {
			t.Errorf("%s: no name or cost in\n%s", in.Name, got)
		}
	}
	var b bytes.Buffer
	if err := methodDetail(&b, "gradcam"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"eigen_smooth=false", "aug_smooth=false", "Cost: 1 forward pass per image"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("methods gradcam does not say %q:\n%s", w, b.String())
		}
	}
}

// TestMethodsUnknown: a misspelt method, in `tfcam methods` as in
// --method, is a usage error (exit 2) naming the method meant.
func TestMethodsUnknown(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"methods", "grad-cam"}, `unknown method "grad-cam" (did you mean gradcam`},
		{[]string{"explain", "--model", "m", "--out", "o", "--method", "Grad-CAM", "x.png"}, `(did you mean "gradcam"`},
	} {
		_, stderr, err := runCLI(t, c.args...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("tfcam %q: %v, stderr %q; want exit 2 saying %s", c.args, err, stderr, c.want)
		}
	}
}

// TestParseArgs: flags are taken wherever they are, "--" ends them and
// "-" is an input.
func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		name      string
		args      []string
		model     string
		force     bool
		wantArgs  []string
		wantError bool
	}{
		{name: "flags first", args: []string{"--model", "m", "a.png"}, model: "m", wantArgs: []string{"a.png"}},
		{name: "flags after the inputs", args: []string{"a.png", "dir/", "--model", "m", "--force"}, model: "m", force: true, wantArgs: []string{"a.png", "dir/"}},
		{name: "flags between", args: []string{"a.png", "-model=m", "b.png"}, model: "m", wantArgs: []string{"a.png", "b.png"}},
		{name: "a bool flag takes no value", args: []string{"--force", "a.png"}, force: true, wantArgs: []string{"a.png"}},
		{name: "- is stdin", args: []string{"-", "--model", "m"}, model: "m", wantArgs: []string{"-"}},
		{name: "-- ends the flags", args: []string{"--model", "m", "--", "-x.png", "--force"}, model: "m", wantArgs: []string{"-x.png", "--force"}},
		{name: "a value may start with -", args: []string{"a.png", "--model", "-m"}, model: "-m", wantArgs: []string{"a.png"}},
		{name: "unknown flag after inputs", args: []string{"a.png", "--nope"}, wantError: true},
		{name: "missing value", args: []string{"a.png", "--model"}, wantError: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(new(bytes.Buffer))
			model := fs.String("model", "", "")
			force := fs.Bool("force", false, "")
			err := parseArgs(fs, c.args)
			if (err != nil) != c.wantError {
				t.Fatalf("error %v, want error %v", err, c.wantError)
			}
			if err != nil {
				return
			}
			if *model != c.model || *force != c.force || !slices.Equal(fs.Args(), c.wantArgs) {
				t.Errorf("model %q force %v args %q; want %q %v %q", *model, *force, fs.Args(), c.model, c.force, c.wantArgs)
			}
		})
	}
}

// TestExplainFlagsAfterInputsAndClassLabel: `tfcam explain IMG --model M
// --out O --class LABEL` explains the class of that label (case aside);
// a misspelt label is refused naming the label meant.
func TestExplainFlagsAfterInputsAndClassLabel(t *testing.T) {
	f := fixture.Load(t, "shapes") // skips in -short, fails when missing
	img := filepath.Join(f.Dir, "eval", "000.png")
	model := f.ModelDir
	out := t.TempDir()
	_, stderr, err := runCLI(t, "explain", img, "--model", model, "--out", out, "--class", "Triangle", "--method", "gradcam")
	if err != nil {
		t.Fatalf("flags after the input: %v\n%s", err, stderr)
	}
	line, err := os.ReadFile(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Maps []struct {
			Class int    `json:"class"`
			Label string `json:"label"`
		} `json:"maps"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(line), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Maps) != 1 || rec.Maps[0].Class != 2 || rec.Maps[0].Label != "triangle" {
		t.Errorf("--class Triangle explained %+v, want class 2 (triangle)", rec.Maps)
	}
	_, stderr, err = runCLI(t, "explain", img, "--model", model, "--out", t.TempDir(), "--class", "triangel")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr, `did you mean "triangle" (2)`) {
		t.Errorf("--class triangel: %v, stderr %q; want exit 2 suggesting triangle", err, stderr)
	}
}
