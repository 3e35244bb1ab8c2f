package tfrecord

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// The framing is checked against TensorFlow itself in cmd/tfcam's tests
// (tf.data.TFRecordDataset reads what tfcam writes); here: round trips and
// every kind of damage detected.
func TestRoundTripAndCorruption(t *testing.T) {
	var b bytes.Buffer
	recs := [][]byte{[]byte("a"), bytes.Repeat([]byte("xyz"), 1000), {}}
	for _, r := range recs {
		Append(&b, r)
	}
	rd := NewReader(bytes.NewReader(b.Bytes()))
	for i, want := range recs {
		got, err := rd.Next(1 << 20)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("record %d: %q, %v", i, got, err)
		}
	}
	if _, err := rd.Next(1 << 20); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if rd.Offset() != int64(b.Len()) {
		t.Errorf("offset %d, file %d", rd.Offset(), b.Len())
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated", b.Bytes()[:b.Len()-3]},
		{"flipped data bit", func() []byte { c := bytes.Clone(b.Bytes()); c[13] ^= 1; return c }()},
		{"flipped length bit", func() []byte { c := bytes.Clone(b.Bytes()); c[0] ^= 4; return c }()},
	} {
		rd := NewReader(bytes.NewReader(tc.data))
		var err error
		for err == nil {
			_, err = rd.Next(1 << 20)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", tc.name, err)
		}
	}
}
