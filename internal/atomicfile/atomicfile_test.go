package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite: the file appears whole, a failed write leaves the old one and
// no temporary file, TmpDir holds the temporary file, a replaced file
// keeps its mode.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sub", "f.txt")
	for _, c := range []struct {
		name    string
		write   func(io.Writer) error
		o       Options
		want    string
		wantErr bool
	}{
		{"new file, parents made", func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }, Options{}, "one", false},
		{"failed write keeps the old file", func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("boom") }, Options{}, "one", true},
		{"through TmpDir, unsynced", func(w io.Writer) error { _, err := io.WriteString(w, "two"); return err }, Options{TmpDir: tmp, NoSync: true}, "two", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Write(p, c.write, c.o)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			got, rerr := os.ReadFile(p)
			if rerr != nil || string(got) != c.want {
				t.Errorf("file %q (%v), want %q", got, rerr, c.want)
			}
			for _, d := range []string{filepath.Dir(p), tmp} {
				if es, _ := os.ReadDir(d); d == tmp && len(es) != 0 || d != tmp && len(es) != 1 {
					t.Errorf("%s holds %d entries: a temporary file was left", d, len(es))
				}
			}
		})
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("three"), Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file's mode %v, want 0600 kept", fi.Mode().Perm())
	}
	if err := WriteBytes("", nil, Options{}); err == nil {
		t.Error("empty path accepted")
	}
}
