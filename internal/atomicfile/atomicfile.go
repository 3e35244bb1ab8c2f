// Package atomicfile writes files so that readers, and a run killed at any
// moment, see either the old file or the whole new one: the data goes to a
// temporary file on the same filesystem, which is then renamed over the
// path. It is tfcam's one way to write an output file (render's images and
// gallery, explain's per-image files and results, eval's report).
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Options change how Write writes.
type Options struct {
	// TmpDir holds the temporary file (default: path's folder). It must be
	// on path's filesystem; a private folder keeps half-written files out
	// of sight of readers that list the output's folders.
	TmpDir string
	// NoSync skips syncing the file and its folder, for callers that sync
	// the whole filesystem at their own commit points (kill -9 cannot lose
	// what the kernel has; only a power cut can).
	NoSync bool
}

// umask is the process's file-mode creation mask, applied to new files'
// 0644 (os.CreateTemp makes 0600 files; outputs are meant to be shared).
var umask = func() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}()

// Write writes the file at path by calling write on a temporary file
// (buffered; write need not buffer), syncing it unless o.NoSync, and
// renaming it to path. Parent folders are created as needed (0755). A new
// file gets mode 0644 less the umask; a replaced one keeps its
// permissions. On any error, including one from write, and on a panic in
// write, the temporary file is removed and path is left untouched. The
// temporary file's name starts with a dot, so that globs and galleries
// never pick up one a killed process left.
func Write(path string, write func(w io.Writer) error, o Options) (err error) {
	if path == "" {
		return errors.New("write: empty path")
	}
	if write == nil {
		return fmt.Errorf("write %s: nil write function", path)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmpDir := o.TmpDir
	if tmpDir == "" {
		tmpDir = dir
	}
	mode := 0o644 &^ umask
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(tmpDir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close() // may already be closed; the error is irrelevant then
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	renamed = true
	if !o.NoSync {
		syncDir(dir)
	}
	return nil
}

// WriteBytes is Write of data.
func WriteBytes(path string, data []byte, o Options) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(data); return err }, o)
}

// syncDir makes the rename itself durable on POSIX file systems. It is best
// effort: some systems (Windows, some network file systems) cannot sync a
// folder, and the file's content is already safe.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
