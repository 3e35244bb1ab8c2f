package imagefile

import (
	"encoding/binary"
	"image"
	"testing"
)

func TestDecodeEXIFOrientation(t *testing.T) {
	const w, h = 48, 30 // stored size; the red block is the stored top-left
	jpg := encode(t, "jpeg", markedImage(w, h))
	// Where the red block shows after the transform, as a corner of the
	// displayed image.
	const (
		topLeft = iota
		topRight
		bottomRight
		bottomLeft
	)
	tests := []struct {
		orientation uint16
		swapped     bool // width and height trade places
		corner      int
	}{
		{0, false, topLeft}, // the tag holds an invalid value: ignored
		{1, false, topLeft},
		{2, false, topRight},
		{3, false, bottomRight},
		{4, false, bottomLeft},
		{5, true, topLeft},
		{6, true, topRight},
		{7, true, bottomRight},
		{8, true, bottomLeft},
		{9, false, topLeft}, // out of range: ignored
	}
	for _, tt := range tests {
		for _, variant := range []struct {
			name     string
			bo       binary.ByteOrder
			xmpFirst bool
		}{
			{"MM", binary.BigEndian, false},
			{"II", binary.LittleEndian, false},
			{"II after XMP", binary.LittleEndian, true},
		} {
			t.Run(variant.name+"/"+string(rune('0'+tt.orientation)), func(t *testing.T) {
				data := withEXIF(jpg, tt.orientation, variant.bo, variant.xmpFirst)
				img, err := Decode(writeFile(t, "photo.jpg", data))
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				want := image.Pt(w, h)
				if tt.swapped {
					want = image.Pt(h, w)
				}
				size := img.Bounds().Size()
				if size != want {
					t.Fatalf("size = %v, want %v", size, want)
				}
				corners := [4]image.Point{
					{2, 2}, {size.X - 3, 2}, {size.X - 3, size.Y - 3}, {2, size.Y - 3},
				}
				for i, p := range corners {
					want := blue
					if i == tt.corner {
						want = red
					}
					if got := at(img, p.X, p.Y); !near(got, want, 12) {
						t.Errorf("corner %d at %v = %v, want %v", i, p, got, want)
					}
				}
			})
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	jpg := encode(t, "jpeg", markedImage(4, 4))
	good := withEXIF(jpg, 6, binary.BigEndian, false)
	exifStart := 2 + 4 + 6 // SOI, APP1 marker and length, "Exif\0\0"
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"tagged", good, 6},
		{"no exif", jpg, 0},
		{"empty", nil, 0},
		{"not a jpeg", []byte("\x89PNG\r\n\x1a\n"), 0},
		{"cut inside the segment", good[:exifStart+10], 0},
		{"bad byte order", patch(good, exifStart, 'X'), 0},
		{"bad magic", patch(good, exifStart+3, 0x2b), 0},
		{"IFD offset past the end", patch(good, exifStart+4, 0x7f), 0},
		{"entry count past the end, tag inside", patch(good, exifStart+8, 0x7f), 6},
		{"no entries", patch(good, exifStart+8, 0, 0), 0},
		{"orientation as LONG", patch(patch(good, exifStart+10+12+3, 4), exifStart+10+12+8, 0, 0, 0, 6), 6},
		{"orientation as ASCII", patch(good, exifStart+10+12+3, 2), 0},
		{"segment length too short", patch(good, 4, 0, 1), 0},
		{"fill bytes before APP1", append([]byte{0xff, 0xd8, 0xff, 0xff}, good[2:]...), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jpegOrientation(tt.data); got != tt.want {
				t.Errorf("jpegOrientation = %d, want %d", got, tt.want)
			}
		})
	}
}

// patch returns a copy of data with b written at offset i.
func patch(data []byte, i int, b ...byte) []byte {
	out := append([]byte{}, data...)
	copy(out[i:], b)
	return out
}

// FuzzJPEGOrientation checks the EXIF reader never panics or returns an
// out-of-range value on arbitrary bytes; the seeds run in every go test.
func FuzzJPEGOrientation(f *testing.F) {
	jpg := encode(f, "jpeg", markedImage(4, 4))
	f.Add(withEXIF(jpg, 6, binary.BigEndian, false))
	f.Add(withEXIF(jpg, 3, binary.LittleEndian, true))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 0 || o > 8 {
			t.Fatalf("jpegOrientation = %d, want 0..8", o)
		}
	})
}
