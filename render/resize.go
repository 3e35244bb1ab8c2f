package render

import (
	"fmt"
	"math"
)

// ResizeMap resizes the row-major mw×mh map m to w×h with bilinear
// interpolation on half-pixel centres — output pixel x samples the map at
// (x+0.5)·mw/w − 0.5, clamped to the edge cells — which is what
// tf.image.resize(method="bilinear") and OpenCV's INTER_LINEAR compute, so a
// map resized here lines up with one resized in the graph. Values are not
// clamped. It returns a new slice.
func ResizeMap(m []float32, mw, mh, w, h int) ([]float32, error) {
	if err := checkMap(m, mw, mh); err != nil {
		return nil, fmt.Errorf("render: resize map: %w", err)
	}
	if err := checkSize("output", w, h); err != nil {
		return nil, fmt.Errorf("render: resize map: %w", err)
	}
	r := newResampler(m, mw, mh, w, h)
	out := make([]float32, w*h)
	for y := 0; y < h; y++ {
		r.row(y, out[y*w:(y+1)*w])
	}
	return out, nil
}

// checkMap validates a map's size against its slice so that bad sizes are
// errors and never index panics. Like checkSize, its error is for callers
// to prefix with their own name.
func checkMap(m []float32, mw, mh int) error {
	if err := checkSize("map", mw, mh); err != nil {
		return err
	}
	if len(m) != mw*mh {
		return fmt.Errorf("map is %d×%d but has %d values, want %d", mw, mh, len(m), mw*mh)
	}
	return nil
}

// maxPixels bounds image sizes so that w*h and the buffers behind it cannot
// overflow an int or ask for absurd amounts of memory by mistake.
const maxPixels = 1 << 30

func checkSize(what string, w, h int) error {
	if w <= 0 || h <= 0 || w > maxPixels/h {
		return fmt.Errorf("invalid %s size %d×%d", what, w, h)
	}
	return nil
}

// tap is one output coordinate's pair of source cells and the weight of the
// second.
type tap struct {
	i0, i1 int
	f      float32
}

// taps computes the bilinear taps of n output pixels over a source of size
// src, on half-pixel centres.
func taps(src, n int) []tap {
	t := make([]tap, n)
	scale := float64(src) / float64(n)
	for x := range t {
		s := (float64(x)+0.5)*scale - 0.5
		s = math.Max(0, math.Min(s, float64(src-1)))
		i0 := int(s)
		i1 := min(i0+1, src-1)
		t[x] = tap{i0: i0, i1: i1, f: float32(s - float64(i0))}
	}
	return t
}

// resampler resizes separably: every map row is first resized horizontally
// (only mh rows of w values, cheap since maps are small), and each output
// row is then a blend of two of those.
type resampler struct {
	rows [][]float32 // mh horizontally resized rows
	ty   []tap
}

func newResampler(m []float32, mw, mh, w, h int) *resampler {
	tx := taps(mw, w)
	buf := make([]float32, mh*w)
	rows := make([][]float32, mh)
	for j := range rows {
		src := m[j*mw : (j+1)*mw]
		dst := buf[j*w : (j+1)*w]
		for x, t := range tx {
			a := src[t.i0]
			dst[x] = a + t.f*(src[t.i1]-a)
		}
		rows[j] = dst
	}
	return &resampler{rows: rows, ty: taps(mh, h)}
}

// row writes output row y into dst (len w).
func (r *resampler) row(y int, dst []float32) {
	t := r.ty[y]
	a, b := r.rows[t.i0], r.rows[t.i1]
	a, b = a[:len(dst)], b[:len(dst)]
	for x := range dst {
		dst[x] = a[x] + t.f*(b[x]-a[x])
	}
}
