package render

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes the file at path by calling write on a temporary
// file in the same directory (buffered; write need not buffer), syncing it
// to disk and renaming it to path, so readers see either the old file or
// the complete new one — never a half-written image after a crash or
// Ctrl-C. Parent directories are created as needed (mode 0755). A new file
// gets mode 0644; a replaced one keeps its permissions.
//
// On any error, including one returned by write, the temporary file is
// removed and path is left untouched. If write panics the temporary file is
// removed too and the panic propagates.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	if path == "" {
		return errors.New("render: write: empty path")
	}
	if write == nil {
		return fmt.Errorf("render: write %s: nil write function", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}

	// A dot-name so that globs like *.png and the gallery never pick up a
	// temporary file that a killed process left behind.
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close() // may already be closed; the error is irrelevant then
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("render: write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("render: write %s: %w", path, err)
	}
	renamed = true
	syncDir(dir)
	return nil
}

// syncDir makes the rename itself durable on POSIX file systems. It is best
// effort: some systems (Windows, some network file systems) cannot sync a
// directory, and the file's content is already safe.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
