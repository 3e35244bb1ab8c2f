package render

import (
	"image"
	"math"
	"testing"
)

func TestGray16(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		v    float32
		want uint16
	}{
		{"zero", 0, 0},
		{"one", 1, 65535},
		{"half", 0.5, 32768},
		{"quarter", 0.25, 16384},
		{"smallest step", 1.0 / 65535, 1},
		{"below 0 clamps", -0.2, 0},
		{"above 1 clamps", 3, 65535},
		{"+Inf clamps", float32(math.Inf(1)), 65535},
		{"NaN is 0", nan, 0},
	}
	m := make([]float32, len(tests))
	for i, tt := range tests {
		m[i] = tt.v
	}
	// One row per case, in a 3-wide image so that rows and columns both
	// matter.
	img, err := Gray16(append(m, 0, 0, 0)[:len(tests)/3*3+3], 3, len(tests)/3+1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds(), image.Rect(0, 0, 3, len(tests)/3+1); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := img.Gray16At(i%3, i/3).Y; got != tt.want {
				t.Errorf("Gray16(%v) = %d, want %d", tt.v, got, tt.want)
			}
		})
	}
}

func TestGray16Errors(t *testing.T) {
	tests := []struct {
		name string
		m    []float32
		w, h int
	}{
		{"too few values", make([]float32, 5), 2, 3},
		{"too many values", make([]float32, 7), 2, 3},
		{"nil", nil, 1, 1},
		{"zero width", nil, 0, 3},
		{"negative", make([]float32, 4), -2, -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if img, err := Gray16(tt.m, tt.w, tt.h); err == nil {
				t.Fatalf("Gray16 = %v, want error", img.Bounds())
			}
		})
	}
}

func BenchmarkGray16(b *testing.B) {
	m := ramp(224, 224)
	for b.Loop() {
		if _, err := Gray16(m, 224, 224); err != nil {
			b.Fatal(err)
		}
	}
}
