package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandInputs(t *testing.T) {
	root := t.TempDir()
	files := []string{"a/x.png", "a/sub/y.JPG", "a/notes.txt", "b/x.png", "c.webp"}
	for _, f := range files {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	list := filepath.Join(root, "list.txt")
	os.WriteFile(list, []byte("# images\n"+filepath.Join(root, "c.webp")+"\n\n"), 0o644)
	j := func(p string) string { return filepath.Join(root, p) }
	cases := []struct {
		name  string
		args  []string
		stdin string
		want  []string // keys
		err   string
	}{
		{"directory recursive, images only", []string{j("a")}, "", []string{"sub/y", "x"}, ""},
		{"explicit file of any extension", []string{j("a/notes.txt")}, "", []string{"notes"}, ""},
		{"glob", []string{j("*/x.png")}, "", []string{"x-", "x-"}, ""},
		{"list file", []string{"@" + list}, "", []string{"c"}, ""},
		{"stdin", []string{"-"}, j("c.webp") + "\n", []string{"c"}, ""},
		{"duplicates collapse", []string{j("c.webp"), j("c.webp")}, "", []string{"c"}, ""},
		{"missing", []string{j("nope.png")}, "", nil, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := expandInputs(c.args, strings.NewReader(c.stdin))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, in := range got {
				keys = append(keys, in.Key)
			}
			if len(keys) != len(c.want) {
				t.Fatalf("keys %q, want %q", keys, c.want)
			}
			for i := range keys {
				if !strings.HasPrefix(keys[i], c.want[i]) {
					t.Errorf("key %d = %q, want prefix %q", i, keys[i], c.want[i])
				}
			}
		})
	}
}
