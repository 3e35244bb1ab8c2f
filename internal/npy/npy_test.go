package npy

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		data  []float32
		shape []int
	}{
		{"vector", []float32{1, -2.5, 3e-7}, []int{3}},
		{"matrix", []float32{1, 2, 3, 4, 5, 6}, []int{2, 3}},
		{"scalar", []float32{42}, []int{}},
		{"empty", []float32{}, []int{0, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFloat32(&buf, c.data, c.shape); err != nil {
				t.Fatal(err)
			}
			if buf.Len()%16 != 0 && len(c.data) == 0 {
				t.Errorf("header not padded: %d bytes", buf.Len())
			}
			a, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Shape, c.shape) || !reflect.DeepEqual(a.F32, c.data) {
				t.Errorf("got shape %v data %v, want %v %v", a.Shape, a.F32, c.shape, c.data)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
	}{
		{"not npy", "hello world, not numpy"},
		{"truncated", "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'"},
		{"float64", "\x93NUMPY\x01\x00\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }         \n\x00\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, c := range cases {
		if _, err := Read(bytes.NewReader([]byte(c.in))); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := WriteFloat32(&bytes.Buffer{}, []float32{1}, []int{2}); err == nil {
		t.Error("shape mismatch not reported")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.npy")
	if err := WriteFloat32File(p, []float32{1, 2}, []int{2}); err != nil {
		t.Fatal(err)
	}
	a, err := ReadFile(p)
	if err != nil || len(a.F32) != 2 {
		t.Fatalf("read back: %v %v", a, err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*tmp*"))
	if len(matches) != 0 {
		t.Errorf("temp files left: %v", matches)
	}
}

// TestReadUnsigned: uint8 and uint16 arrays (as numpy writes them, little
// endian) are read into I32 without sign extension.
func TestReadUnsigned(t *testing.T) {
	header := func(descr string) []byte {
		h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2, 2), }"
		for (10+len(h)+1)%64 != 0 {
			h += " "
		}
		h += "\n"
		return append([]byte{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, byte(len(h)), byte(len(h) >> 8)}, h...)
	}
	for _, c := range []struct {
		descr string
		data  []byte
		want  []int32
	}{
		{"|u1", []byte{0, 1, 128, 255}, []int32{0, 1, 128, 255}},
		{"<u2", []byte{0, 0, 1, 0, 0, 128, 255, 255}, []int32{0, 1, 32768, 65535}},
	} {
		a, err := Read(bytes.NewReader(append(header(c.descr), c.data...)))
		if err != nil {
			t.Fatalf("%s: %v", c.descr, err)
		}
		if !reflect.DeepEqual(a.Shape, []int{2, 2}) || !reflect.DeepEqual(a.I32, c.want) || a.F32 != nil {
			t.Errorf("%s: shape %v I32 %v F32 %v, want [2 2] %v", c.descr, a.Shape, a.I32, a.F32, c.want)
		}
	}
}
