package imagefile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileBytes is the largest file Decode reads: 1 GiB, the size of the
// largest image it decodes (MaxPixels) as raw 8-bit RGBA, so no real image
// file is larger, while /dev/zero named in a list is refused at once.
const MaxFileBytes = 1 << 30

// ReadFile reads the regular file at path, of at most maxBytes bytes
// (maxBytes <= 0: no limit). It never blocks on a named pipe and never reads
// a device, a socket or a directory: those are refused with ErrNotRegular
// before any byte is read. The file is opened with O_NONBLOCK and checked
// again on the open descriptor, so a file swapped for a pipe between the
// two checks is refused too. A larger file is refused with
// ErrFileTooLarge, from its size or, for a file that grows while it is
// read, after maxBytes+1 bytes.
//
// Errors name path; a missing or unreadable file wraps the fs error
// (errors.Is(err, fs.ErrNotExist), fs.ErrPermission).
func ReadFile(path string, maxBytes int64) ([]byte, error) {
	// Stat first: opening a socket fails with a confusing "no such device
	// or address", and opening a device may have side effects (tapes).
	info, err := os.Stat(path)
	if err != nil {
		return nil, readError(path, err)
	}
	if err := checkRegular(path, info, maxBytes); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, readError(path, err)
	}
	if err := checkRegular(path, info, maxBytes); err != nil {
		return nil, err
	}
	r := io.Reader(f)
	if maxBytes > 0 {
		r = io.LimitReader(f, maxBytes+1)
	}
	// Size the buffer from the file, not from maxBytes: a small file must
	// not cost a gigabyte.
	buf := make([]byte, 0, info.Size()+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readError(path, err)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow: the file grew since Stat
		}
	}
	if maxBytes > 0 && int64(len(buf)) > maxBytes {
		return nil, fmt.Errorf("imagefile: %q: %w: it grew past the limit of %d bytes while being read", path, ErrFileTooLarge, maxBytes)
	}
	return buf, nil
}

// readError wraps an open, stat or read error, keeping the fs error for
// errors.Is and saying what to check.
func readError(path string, err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		err = pe.Err // the path is named once, by us
	}
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("imagefile: %q: cannot read image file: %w (check the path; a dangling symlink also reads as missing)", path, err)
	case os.IsPermission(err):
		return fmt.Errorf("imagefile: %q: cannot read image file: %w (check its and its folders' permissions)", path, err)
	}
	return fmt.Errorf("imagefile: %q: cannot read image file: %w", path, err)
}

// checkRegular refuses anything but a regular file of at most maxBytes.
func checkRegular(path string, info fs.FileInfo, maxBytes int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("imagefile: %q: %w: it is %s; give image files only", path, ErrNotRegular, FileKind(info.Mode()))
	}
	if maxBytes > 0 && info.Size() > maxBytes {
		return fmt.Errorf("imagefile: %q: %w: %d bytes, over the limit of %d", path, ErrFileTooLarge, info.Size(), maxBytes)
	}
	return nil
}

// FileKind names the type of file a mode describes, with an article, for
// messages: "a directory", "a named pipe (FIFO)", "a regular file".
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}
