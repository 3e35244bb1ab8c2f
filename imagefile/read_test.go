package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color/palette"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"github.com/tfcam/tfcam/internal/fixture"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	j := func(name string) string { return filepath.Join(dir, name) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(j("ten.png"), []byte("0123456789"), 0o644))
	must(os.WriteFile(j("empty.png"), nil, 0o644))
	must(syscall.Mkfifo(j("pipe.jpg"), 0o644))
	must(os.Symlink("ten.png", j("link.png")))
	must(os.Symlink("pipe.jpg", j("link-to-pipe.jpg")))
	must(os.Symlink("/nonexistent/x.jpg", j("dangling.jpg")))
	must(os.Symlink("loop-b.jpg", j("loop-a.jpg")))
	must(os.Symlink("loop-a.jpg", j("loop-b.jpg")))
	must(os.Mkdir(j("dir.png"), 0o755))
	sock, err := net.Listen("unix", j("sock.png"))
	must(err)
	defer sock.Close()

	tests := []struct {
		name     string
		path     string
		max      int64
		want     string // the bytes, when no error
		wantErr  error
		wantKind string // a phrase of the message
	}{
		{"regular", j("ten.png"), 100, "0123456789", nil, ""},
		{"exactly the limit", j("ten.png"), 10, "0123456789", nil, ""},
		{"no limit", j("ten.png"), 0, "0123456789", nil, ""},
		{"empty", j("empty.png"), 10, "", nil, ""},
		{"symlink to a file", j("link.png"), 10, "0123456789", nil, ""},
		{"over the limit", j("ten.png"), 9, "", ErrFileTooLarge, "10 bytes, over the limit of 9"},
		// /proc files say 0 bytes and have more: the limit holds while reading.
		{"grows while read", "/proc/self/status", 10, "", ErrFileTooLarge, "grew past the limit of 10"},
		{"directory", j("dir.png"), 10, "", ErrNotRegular, "a directory"},
		{"fifo without writer", j("pipe.jpg"), 10, "", ErrNotRegular, "a named pipe (FIFO)"},
		{"symlink to a fifo", j("link-to-pipe.jpg"), 10, "", ErrNotRegular, "a named pipe (FIFO)"},
		{"socket", j("sock.png"), 10, "", ErrNotRegular, "a socket"},
		{"/dev/zero", "/dev/zero", 0, "", ErrNotRegular, "a character device"},
		{"/dev/urandom", "/dev/urandom", 0, "", ErrNotRegular, "a character device"},
		{"missing", j("nope.png"), 10, "", fs.ErrNotExist, "check the path"},
		{"dangling symlink", j("dangling.jpg"), 10, "", fs.ErrNotExist, "dangling symlink"},
		{"symlink loop", j("loop-a.jpg"), 10, "", syscall.ELOOP, "too many levels of symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withTimeout(t, func() ([]byte, error) { return ReadFile(tt.path, tt.max) })
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				if string(got) != tt.want {
					t.Fatalf("ReadFile = %q, want %q", got, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadFile = %v, want %v", err, tt.wantErr)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.path) || !strings.Contains(msg, tt.wantKind) {
				t.Errorf("error %q does not name %s and %q", msg, tt.path, tt.wantKind)
			}
		})
	}
}

// TestReadFilePermission checks an unreadable file and a file in an
// unreadable folder are reported as permission errors, not as missing.
// Root reads everything, so as root the case runs in a child process as
// nobody.
func TestReadFilePermission(t *testing.T) {
	if fixture.AsNobody(t) {
		return
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.png")
	if err := os.WriteFile(secret, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(dir, "closed")
	if err := os.Mkdir(closed, 0o755); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(closed, "x.png")
	if err := os.WriteFile(inside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(closed, 0o755) })
	for _, path := range []string{secret, inside} {
		_, err := ReadFile(path, 0)
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "permission") {
			t.Errorf("ReadFile(%s) = %v, want a permission error", path, err)
		}
		if _, err := Decode(path); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Decode(%s) = %v, want a permission error", path, err)
		}
	}
}

// withTimeout runs read and fails the test if it blocks: the bug this
// guards against is a read that waits forever on a pipe.
func withTimeout(t *testing.T, read func() ([]byte, error)) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(2 * time.Minute): // a hang guard: it takes microseconds
		t.Fatal("read blocked for 2 minutes")
		return nil, nil
	}
}

// tiffFile is a little-endian 2×2 TIFF whose first IFD holds tags (SHORT
// or LONG values) plus the size and one strip of stripBytes zero bytes.
func tiffFile(tags map[uint16]uint32, stripBytes int) []byte {
	all := map[uint16]uint32{256: 2, 257: 2, 278: 2, 279: uint32(stripBytes)}
	for k, v := range tags {
		all[k] = v
	}
	all[273] = 0 // strip offset, set below
	keys := make([]int, 0, len(all))
	for k := range all {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	ifdLen := 2 + 12*len(keys) + 4
	all[273] = uint32(8 + ifdLen)
	le := binary.LittleEndian
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(keys)))
	for _, k := range keys {
		b = le.AppendUint16(b, uint16(k))
		b = le.AppendUint16(b, 4) // LONG
		b = le.AppendUint32(b, 1)
		b = le.AppendUint32(b, all[uint16(k)])
	}
	b = le.AppendUint32(b, 0) // no next IFD
	return append(b, make([]byte, stripBytes)...)
}

// animatedWebP is the header of an animated WebP: VP8X with the animation
// flag, ANIM and one ANMF chunk (x/image/webp reads still images only).
func animatedWebP() []byte {
	chunk := func(id string, data []byte) []byte {
		b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		return append(b, data...)
	}
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", []byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0})...)
	body = append(body, chunk("ANIM", make([]byte, 6))...)
	body = append(body, chunk("ANMF", make([]byte, 16))...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// rleBMP is an 8-bit paletted BMP whose header says RLE8 compression.
func rleBMP(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[30:], 1)
	return b
}
