package render

import (
	"math"
	"testing"
)

func TestResizeMap(t *testing.T) {
	tests := []struct {
		name         string
		m            []float32
		mw, mh, w, h int
		want         []float32
	}{
		{"identity", []float32{1, 2, 3, 4, 5, 6}, 3, 2, 3, 2, []float32{1, 2, 3, 4, 5, 6}},
		{"constant", []float32{0.3, 0.3, 0.3, 0.3}, 2, 2, 5, 3, []float32{
			0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3}},
		{"half-pixel up 2→4", []float32{0, 1}, 2, 1, 4, 1, []float32{0, 0.25, 0.75, 1}},
		{"half-pixel down 4→2", []float32{0, 1, 2, 3}, 4, 1, 2, 1, []float32{0.5, 2.5}},
		{"single cell", []float32{0.7}, 1, 1, 3, 2, []float32{0.7, 0.7, 0.7, 0.7, 0.7, 0.7}},
		{"vertical 1×2→1×4", []float32{0, 1}, 1, 2, 1, 4, []float32{0, 0.25, 0.75, 1}},
		// Expected values from tf.image.resize(method="bilinear") in
		// TensorFlow 2, the resize the explainer's graph uses.
		{"tf.image.resize 3×2→7×5", []float32{0, 0.2, 1, 0.5, 0.9, 0.1}, 3, 2, 7, 5, []float32{
			0, 0.02857143, 0.1142857, 0.2, 0.5428572, 0.8857144, 1,
			0.05000001, 0.08142859, 0.1757143, 0.27, 0.5442857, 0.8185714, 0.91,
			0.25, 0.2928571, 0.4214286, 0.55, 0.55, 0.55, 0.55,
			0.45, 0.5042857, 0.6671428, 0.83, 0.5557143, 0.2814286, 0.1900001,
			0.5, 0.5571429, 0.7285714, 0.9, 0.5571429, 0.2142857, 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResizeMap(tt.m, tt.mw, tt.mh, tt.w, tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("len = %d, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-5 {
					t.Fatalf("got %v\nwant %v", got, tt.want)
				}
			}
		})
	}
}

func TestResizeMapErrors(t *testing.T) {
	tests := []struct {
		name         string
		m            []float32
		mw, mh, w, h int
	}{
		{"short map", []float32{1, 2, 3}, 2, 2, 4, 4},
		{"long map", []float32{1, 2, 3, 4, 5}, 2, 2, 4, 4},
		{"nil map", nil, 2, 2, 4, 4},
		{"zero map width", []float32{}, 0, 2, 4, 4},
		{"negative map height", []float32{1}, 1, -1, 4, 4},
		{"zero output", []float32{1}, 1, 1, 0, 4},
		{"negative output", []float32{1}, 1, 1, 4, -4},
		{"overflowing output", []float32{1}, 1, 1, math.MaxInt / 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ResizeMap(tt.m, tt.mw, tt.mh, tt.w, tt.h); err == nil {
				t.Fatalf("ResizeMap = %d values, want error", len(got))
			}
		})
	}
}

func BenchmarkResizeMap(b *testing.B) {
	m := make([]float32, 14*14)
	for i := range m {
		m[i] = float32(i) / float32(len(m))
	}
	for b.Loop() {
		if _, err := ResizeMap(m, 14, 14, 640, 480); err != nil {
			b.Fatal(err)
		}
	}
}
