package evaluate

import "math"

// Pointing is one image's localisation result for one map.
type Pointing struct {
	// Hit: the map's maximum lies within Tolerance map pixels of a box
	// (pointing game, Zhang et al. 2016).
	Hit bool `json:"hit"`
	// Energy is the share of the map's sum inside the boxes
	// (energy-based pointing game, Wang et al. 2020), in [0,1].
	Energy float64 `json:"energy"`
}

// ToleranceAt224 is the pointing game's tolerance in the paper: 15 pixels
// at 224×224.
const ToleranceAt224 = 15

// ScaleTolerance turns a tolerance in pixels at 224 px into map pixels,
// scaled by the map's shorter side.
func ScaleTolerance(tol float64, w, h int) float64 { return tol * float64(min(w, h)) / 224 }

// Point scores map m (w×h, row-major, normalised) against rects (in map
// coordinates, see Box.ToMap) with a tolerance in map pixels. A pixel is
// inside when its centre is. The maximum is the first one in row-major
// order; an all-zero map has no energy (0) and points at pixel 0.
func Point(m []float32, w, h int, rects []Rect, tolerance float64) Pointing {
	best, at := float32(math.Inf(-1)), 0
	var in, total float64
	for i, v := range m {
		if v > best {
			best, at = v, i
		}
		total += float64(v)
		if inside(rects, float64(i%w)+0.5, float64(i/w)+0.5) {
			in += float64(v)
		}
	}
	p := Pointing{Hit: distance(rects, float64(at%w)+0.5, float64(at/w)+0.5) <= tolerance}
	if total > 0 {
		p.Energy = in / total
	}
	return p
}

func inside(rects []Rect, x, y float64) bool {
	for _, r := range rects {
		if x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1 {
			return true
		}
	}
	return false
}

// distance is the Euclidean distance from (x,y) to the nearest rect, 0
// inside one.
func distance(rects []Rect, x, y float64) float64 {
	d := math.Inf(1)
	for _, r := range rects {
		dx := max(r.X0-x, 0, x-r.X1)
		dy := max(r.Y0-y, 0, y-r.Y1)
		d = min(d, math.Hypot(dx, dy))
	}
	return d
}
