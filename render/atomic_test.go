package render

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// listAll returns every file under dir, relative, sorted.
func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

var errBoom = errors.New("boom")

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name      string
		existing  string // content already at path; "" for none
		path      string // relative to the test's directory
		write     func(io.Writer) error
		wantErr   error // wrapped error to find with errors.Is, if any
		wantFail  bool
		wantFiles []string
		wantData  string // content at path afterwards ("" = absent)
	}{
		{
			name: "new file", path: "out.png", write: writeString("hello"),
			wantFiles: []string{"out.png"}, wantData: "hello",
		},
		{
			name: "replaces", existing: "old", path: "out.png", write: writeString("new"),
			wantFiles: []string{"out.png"}, wantData: "new",
		},
		{
			name: "empty content", path: "empty", write: func(io.Writer) error { return nil },
			wantFiles: []string{"empty"}, wantData: "",
		},
		{
			name: "creates directories", path: "a/b/c/out.png", write: writeString("deep"),
			wantFiles: []string{"a/b/c/out.png"}, wantData: "deep",
		},
		{
			name: "write fails: no file, no temp", path: "out.png",
			write:    func(w io.Writer) error { io.WriteString(w, "partial"); return errBoom },
			wantErr:  errBoom,
			wantFail: true,
		},
		{
			name: "write fails: old file untouched", existing: "old", path: "out.png",
			write:     func(w io.Writer) error { io.WriteString(w, strings.Repeat("x", 1<<20)); return errBoom },
			wantErr:   errBoom,
			wantFail:  true,
			wantFiles: []string{"out.png"}, wantData: "old",
		},
		{
			name: "write fails in new directory", path: "new/dir/out.png",
			write:    func(io.Writer) error { return errBoom },
			wantErr:  errBoom,
			wantFail: true,
		},
		{
			name: "nil write", path: "out.png", write: nil, wantFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.path)
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFileAtomic(path, tt.write)
			if tt.wantFail {
				if err == nil {
					t.Fatal("want error")
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %q does not wrap %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := listAll(t, dir); strings.Join(got, ",") != strings.Join(tt.wantFiles, ",") {
				t.Fatalf("files = %q, want %q", got, tt.wantFiles)
			}
			if tt.wantFiles != nil {
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.wantData {
					t.Errorf("content = %q, want %q", got, tt.wantData)
				}
			}
		})
	}
}

func TestWriteFileAtomicMode(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh")
	if err := WriteFileAtomic(fresh, writeString("x")); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, "kept")
	if err := os.WriteFile(kept, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(kept, writeString("new")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{fresh: 0o644, kept: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
}

func TestWriteFileAtomicBadTargets(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "isdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path string }{
		{"empty path", ""},
		{"path is a directory", filepath.Join(dir, "isdir")},
		{"parent is a file", filepath.Join(dir, "file", "out.png")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteFileAtomic(tt.path, writeString("x")); err == nil {
				t.Fatal("want error")
			}
			if got := listAll(t, dir); strings.Join(got, ",") != "file" {
				t.Fatalf("files = %q, want only the existing one", got)
			}
		})
	}
}

func TestWriteFileAtomicPanicCleansUp(t *testing.T) {
	dir := t.TempDir()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic did not propagate")
			}
		}()
		WriteFileAtomic(filepath.Join(dir, "out"), func(io.Writer) error { panic("write bug") })
	}()
	if got := listAll(t, dir); len(got) != 0 {
		t.Fatalf("files = %q, want none", got)
	}
}
