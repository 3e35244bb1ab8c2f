// Package npy reads and writes NumPy .npy files of float32 and int32 arrays,
// the format tfcam's fixtures, references and raw map outputs use.
//
// Only C-ordered little-endian arrays are supported; anything else is an
// error that names the file and what was found.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var (
	descrRe   = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// Array is a decoded .npy array. Exactly one of F32 and I32 is set:
// float32 arrays fill F32; int32, uint8 and uint16 arrays fill I32.
type Array struct {
	Shape []int
	F32   []float32
	I32   []int32
}

// Len is the number of elements.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// ReadFile decodes the .npy file at path.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	return a, nil
}

// Read decodes one .npy array from r.
func Read(r io.Reader) (*Array, error) {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if string(magic[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not a .npy file (bad magic)")
	}
	var hlen int
	switch magic[6] {
	case 1:
		var n uint16
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		hlen = int(n)
	case 2, 3:
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("unsupported .npy version %d", magic[6])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	h := string(header)
	m := descrRe.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("header has no descr: %q", h)
	}
	descr := m[1]
	if fm := fortranRe.FindStringSubmatch(h); fm == nil || fm[1] != "False" {
		return nil, fmt.Errorf("only C-ordered arrays are supported (header %q)", h)
	}
	sm := shapeRe.FindStringSubmatch(h)
	if sm == nil {
		return nil, fmt.Errorf("header has no shape: %q", h)
	}
	a := &Array{Shape: []int{}}
	for _, s := range strings.Split(sm[1], ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		d, err := strconv.Atoi(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad shape %q", sm[1])
		}
		a.Shape = append(a.Shape, d)
	}
	n := a.Len()
	width := 4
	switch descr {
	case "|u1":
		width = 1
	case "<u2":
		width = 2
	}
	raw := make([]byte, width*n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading %d elements: %w", n, err)
	}
	switch descr {
	case "|u1":
		a.I32 = make([]int32, n)
		for i, b := range raw {
			a.I32[i] = int32(b)
		}
	case "<u2":
		a.I32 = make([]int32, n)
		for i := range a.I32 {
			a.I32[i] = int32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case "<f4":
		a.F32 = make([]float32, n)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "<i4":
		a.I32 = make([]int32, n)
		for i := range a.I32 {
			a.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	default:
		return nil, fmt.Errorf("dtype %q not supported (want <f4, <i4, |u1 or <u2)", descr)
	}
	return a, nil
}

// WriteFloat32 writes data with the given shape as a float32 .npy array.
func WriteFloat32(w io.Writer, data []float32, shape []int) error {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, n, len(data))
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'.
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(h)))
	buf.WriteString(h)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	out := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(out)
	return err
}

// WriteFloat32File writes a float32 .npy file atomically: to a temporary
// file in the same folder, renamed into place once complete.
func WriteFloat32File(path string, data []float32, shape []int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	err = WriteFloat32(w, data, shape)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: writing %s: %w", path, err)
	}
	return nil
}
