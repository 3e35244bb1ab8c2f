package render

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

func TestConceptColors(t *testing.T) {
	tests := []struct {
		n    int
		want []color.NRGBA
	}{
		{1, []color.NRGBA{{255, 0, 0, 255}}},
		{3, []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}},
		{6, []color.NRGBA{{255, 0, 0, 255}, {255, 255, 0, 255}, {0, 255, 0, 255}, {0, 255, 255, 255}, {0, 0, 255, 255}, {255, 0, 255, 255}}},
	}
	for _, tt := range tests {
		got := ConceptColors(tt.n)
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Errorf("ConceptColors(%d)[%d] = %v, want %v", tt.n, i, got[i], tt.want[i])
			}
		}
	}
}

// TestConceptOverlay checks each pixel against the blend written out: a
// 2×2 gray image, concept 0 strongest on the left column, concept 1 on
// the right, strengths 1 and 0.5, a tie at the bottom right (maps at the
// image's size, so no resampling).
func TestConceptOverlay(t *testing.T) {
	orig := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	draw.Draw(orig, orig.Bounds(), image.NewUniform(color.NRGBA{100, 100, 100, 255}), image.Point{}, draw.Src)
	maps := [][]float32{{1, 0, 0.5, 0.5}, {0, 1, 0.1, 0.5}}
	tests := []struct {
		alpha float64
		x, y  int
		want  color.NRGBA
	}{
		{0.5, 0, 0, color.NRGBA{178, 50, 50, 255}},  // red ·1: 0.5·100 + 0.5·255
		{0.5, 1, 0, color.NRGBA{50, 178, 178, 255}}, // cyan ·1 (2 concepts: hues 0 and 180°)
		{0.5, 0, 1, color.NRGBA{114, 50, 50, 255}},  // red ·0.5: 50 + 0.5·0.5·255 = 113.75
		{0.5, 1, 1, color.NRGBA{114, 50, 50, 255}},  // a tie: the first concept
		{0, 1, 1, color.NRGBA{100, 100, 100, 255}},
	}
	for _, tt := range tests {
		out, err := ConceptOverlay(orig, maps, 2, 2, tt.alpha, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Bounds().Dy(); got != 2+2*legendRow+4 {
			t.Errorf("height %d, want the image's and two legend rows", got)
		}
		if got := out.NRGBAAt(tt.x, tt.y); got != tt.want {
			t.Errorf("alpha %g (%d,%d) = %v, want %v", tt.alpha, tt.x, tt.y, got, tt.want)
		}
	}
	for _, bad := range []struct {
		maps   [][]float32
		labels []string
		alpha  float64
	}{
		{nil, nil, 0.5},
		{maps, []string{"a"}, 0.5},
		{maps, []string{"a", "b"}, 2},
		{[][]float32{{1}, {1}}, []string{"a", "b"}, 0.5},
	} {
		if _, err := ConceptOverlay(orig, bad.maps, 2, 2, bad.alpha, bad.labels); err == nil {
			t.Errorf("ConceptOverlay(%v, %v, %g): no error", bad.maps, bad.labels, bad.alpha)
		}
	}
}
