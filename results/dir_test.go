package results

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tfcam/tfcam/inputs"
)

// TestOutputModes: outputs get the usual 0644 (less the umask), not the
// 0600 of temporary files.
func TestOutputModes(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, inputs.Shard{Index: 0, Count: 1}, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile(t.Context(), "a.jpg/x.jpg", []byte("data")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "a.jpg", "x.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	m := syscall.Umask(0)
	syscall.Umask(m)
	if want := os.FileMode(0o644 &^ m); fi.Mode().Perm() != want {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), want)
	}
}
