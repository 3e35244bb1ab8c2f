package imagefile

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// TestJPEGTruncated: files cut anywhere after their header are truncated;
// whole files, files with a trailer after the end marker, and non-JPEGs
// are not.
func TestJPEGTruncated(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(x * y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	cases := []struct {
		name string
		data []byte
		want bool
	}{
		{"whole file", whole, false},
		{"trailer after the end marker", append(append([]byte{}, whole...), "camera trailer \xff\xd8"...), false},
		{"fill bytes before the end marker", append(append(append([]byte{}, whole[:len(whole)-2]...), 0xFF, 0xFF), whole[len(whole)-2:]...), false},
		{"end marker missing", whole[:len(whole)-2], true},
		{"cut in the scan", whole[:len(whole)*2/3], true},
		{"cut in the header", whole[:40], true},
		{"cut after the marker byte", whole[:len(whole)-1], true},
		{"a PNG", []byte("\x89PNG\r\n\x1a\n...."), false},
		{"junk between segments", append([]byte{0xFF, 0xD8, 0x00, 0x01}, whole[2:]...), false},
	}
	for _, tc := range cases {
		if got := JPEGTruncated(tc.data); got != tc.want {
			t.Errorf("%s: JPEGTruncated = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Every cut between the header and the end marker is caught.
	for n := 2; n < len(whole)-1; n += 7 {
		if !JPEGTruncated(whole[:n]) {
			t.Fatalf("file cut at %d of %d bytes: not called truncated", n, len(whole))
		}
	}
}
