package render

import (
	"fmt"
	"image"
)

// Gray16 converts a w×h row-major map in [0,1] to a 16-bit grayscale image:
// 0 → 0, 1 → 65535, rounded, values outside clamped and NaN as 0. Saved as
// PNG it keeps the map's precision for later analysis, which an 8-bit
// colour overlay does not.
func Gray16(m []float32, w, h int) (*image.Gray16, error) {
	if err := checkMap(m, w, h); err != nil {
		return nil, fmt.Errorf("render: gray16: %w", err)
	}
	out := image.NewGray16(image.Rect(0, 0, w, h))
	for i, v := range m {
		g := uint16(float64(clamp01(v))*65535 + 0.5)
		out.Pix[2*i] = uint8(g >> 8) // Gray16 is big-endian
		out.Pix[2*i+1] = uint8(g)
	}
	return out, nil
}
