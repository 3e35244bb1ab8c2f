package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	cases := []struct {
		name      string
		files     map[string]string // relative to a temp root; model dir is root/m/model
		wantPre   string
		wantLayer string
		labels    int
		wantErr   string
	}{
		{"none", nil, "", "", 0, ""},
		{"tfcam.json in model", map[string]string{"m/model/tfcam.json": `{"preprocess":"torch","default_layer":"top"}`}, "torch", "top", 0, ""},
		{"meta.json beside", map[string]string{"m/meta.json": `{"preprocess":"unit"}`, "m/labels.txt": "cat\ndog\n"}, "unit", "", 2, ""},
		{"model preset wins", map[string]string{"m/model/tfcam.json": `{"preprocess":"tf"}`, "m/meta.json": `{"preprocess":"unit"}`}, "tf", "", 0, ""},
		{"bad json", map[string]string{"m/model/tfcam.json": `{`}, "", "", 0, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "m", "model"), 0o755)
			for rel, body := range c.files {
				if err := os.WriteFile(filepath.Join(root, rel), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Find(filepath.Join(root, "m", "model"))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Preprocess != c.wantPre || p.Layer != c.wantLayer || len(p.Labels) != c.labels {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.txt")
	os.WriteFile(path, []byte("tench\n\ngoldfish\n\n"), 0o644)
	l, err := ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 || l[1] != "class 1" || l[2] != "goldfish" {
		t.Errorf("labels %q", l)
	}
	p := Preset{Labels: l}
	if p.Label(2) != "goldfish" || p.Label(7) != "class 7" {
		t.Errorf("Label: %q %q", p.Label(2), p.Label(7))
	}
	os.WriteFile(path, nil, 0o644)
	if _, err := ReadLabels(path); err == nil {
		t.Error("empty labels file accepted")
	}
}
