package evaluate

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestCounts(t *testing.T) {
	cases := []struct {
		hw, steps int
		want      []int
	}{
		{4096, 10, []int{0, 409, 819, 1228, 1638, 2048, 2457, 2867, 3276, 3686, 4096}},
		{100, 3, []int{0, 33, 66, 100}},
		{7, 7, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{5, 1, []int{0, 5}},
		// numpy's float64 linspace truncates 11·(30/22) = 14.999… to 14.
		{30, 22, []int{0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 19, 20, 21, 23, 24, 25, 27, 28, 30}},
	}
	for _, c := range cases {
		if got := Counts(c.hw, c.steps); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Counts(%d, %d) = %v, want %v (numpy.linspace)", c.hw, c.steps, got, c.want)
		}
	}
}

func TestAUC(t *testing.T) {
	cases := []struct {
		curve []float64
		want  float64
	}{
		{[]float64{1, 1, 1}, 1},
		{[]float64{1, 0}, 0.5},
		{[]float64{1, 0, 0, 0}, 1.0 / 6},
		{[]float64{0, 0.5, 1}, 0.5},
		{[]float64{0.2}, 0},
	}
	for _, c := range cases {
		if got := AUC(c.curve); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AUC(%v) = %g, want %g", c.curve, got, c.want)
		}
	}
	if f := Fractions(4); !reflect.DeepEqual(f, []float64{0, 0.25, 0.5, 0.75, 1}) {
		t.Errorf("Fractions(4) = %v", f)
	}
}

func TestAverageDropAndIncrease(t *testing.T) {
	cases := []struct {
		name           string
		base, masked   []float64
		drop, increase float64
	}{
		{"no change", []float64{0.9, 0.5}, []float64{0.9, 0.5}, 0, 0},
		{"half drop", []float64{0.8}, []float64{0.4}, 50, 0},
		{"increase clamps the drop to 0", []float64{0.5, 0.5}, []float64{0.75, 0.25}, 25, 50},
		{"zero base counts as no drop", []float64{0, 1}, []float64{0, 0}, 50, 0},
	}
	for _, c := range cases {
		var r []Faithfulness
		for i := range c.base {
			r = append(r, Faithfulness{Base: c.base[i], Masked: c.masked[i]})
		}
		if got := AverageDrop(r); math.Abs(got-c.drop) > 1e-9 {
			t.Errorf("%s: AverageDrop = %g, want %g", c.name, got, c.drop)
		}
		if got := IncreaseInConfidence(r); math.Abs(got-c.increase) > 1e-9 {
			t.Errorf("%s: IncreaseInConfidence = %g, want %g", c.name, got, c.increase)
		}
	}
}

func TestPoint(t *testing.T) {
	// A 4×4 map, maximum at (x=2, y=1).
	m := []float32{
		0, 0, 0, 0,
		0, 1, 3, 0,
		0, 1, 0, 0,
		0, 0, 0, 1,
	}
	cases := []struct {
		name   string
		rects  []Rect
		tol    float64
		hit    bool
		energy float64
	}{
		{"box around the maximum", []Rect{{2, 1, 3, 2}}, 0, true, 3.0 / 6},
		{"box elsewhere", []Rect{{0, 2, 2, 4}}, 0, false, 1.0 / 6},
		{"within tolerance", []Rect{{0, 2, 2, 4}}, 1.5, true, 1.0 / 6},
		{"just outside tolerance", []Rect{{0, 3, 1, 4}}, 1.9, false, 0},
		{"two boxes: union", []Rect{{0, 0, 2, 3}, {3, 3, 4, 4}}, 0, false, 3.0 / 6},
		{"whole map", []Rect{{0, 0, 4, 4}}, 0, true, 1},
	}
	for _, c := range cases {
		p := Point(m, 4, 4, c.rects, c.tol)
		if p.Hit != c.hit || math.Abs(p.Energy-c.energy) > 1e-12 {
			t.Errorf("%s: got %+v, want hit %v energy %g", c.name, p, c.hit, c.energy)
		}
	}
	if p := Point(make([]float32, 16), 4, 4, []Rect{{1, 1, 4, 4}}, 0); p.Energy != 0 || p.Hit {
		t.Errorf("all-zero map: %+v, want no energy and the maximum at pixel 0 (outside)", p)
	}
}

func TestBoxToMap(t *testing.T) {
	cases := []struct {
		b              Box
		iw, ih, mw, mh int
		want           Rect
	}{
		{Box{0, 0, 63, 63}, 64, 64, 64, 64, Rect{0, 0, 64, 64}},
		{Box{10, 20, 19, 29}, 200, 100, 100, 50, Rect{5, 10, 10, 15}},
		{Box{3, 3, 3, 3}, 8, 8, 16, 32, Rect{6, 12, 8, 16}},
	}
	for _, c := range cases {
		if got := c.b.ToMap(c.iw, c.ih, c.mw, c.mh); got != c.want {
			t.Errorf("%v.ToMap(%d,%d → %d,%d) = %v, want %v", c.b, c.iw, c.ih, c.mw, c.mh, got, c.want)
		}
	}
	if got := ScaleTolerance(15, 448, 224); got != 15 {
		t.Errorf("ScaleTolerance(15, 448×224) = %g, want 15 (the shorter side is 224)", got)
	}
}

func TestParseBoxes(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string][]Box
		err      string
	}{
		{"two images, one with two boxes", "image,x0,y0,x1,y1\na.png,1,2,3,4\nb.png,0,0,9,9\na.png,5,5,6,6\n",
			map[string][]Box{"a.png": {{1, 2, 3, 4}, {5, 5, 6, 6}}, "b.png": {{0, 0, 9, 9}}}, ""},
		{"columns in any order, extra column, spaces, comment", "# boxes\nx0, y0, label, image, x1, y1\n1, 2, cat, dir/c.jpg, 3, 4\n",
			map[string][]Box{"dir/c.jpg": {{1, 2, 3, 4}}}, ""},
		{"empty file", "", nil, "is empty"},
		{"missing column", "image,x0,y0,x1\na.png,1,2,3\n", nil, `lacks column "y1"`},
		{"not a number", "image,x0,y0,x1,y1\na.png,1,2,x,4\n", nil, `line 2: x1 = "x"`},
		{"negative", "image,x0,y0,x1,y1\na.png,-1,2,3,4\n", nil, "not a pixel index"},
		{"inverted box", "image,x0,y0,x1,y1\na.png,5,2,3,4\n", nil, "is empty"},
		{"empty image", "image,x0,y0,x1,y1\n,1,2,3,4\n", nil, "empty image name"},
		{"overflowing coordinate", "image,x0,y0,x1,y1\na.png,0,0,9223372036854775807,4\n", nil, "not a pixel index"},
		{"beyond any image", "image,x0,y0,x1,y1\na.png,0,0,16777217,4\n", nil, "not a pixel index"},
	}
	for _, c := range cases {
		got, err := ParseBoxes(strings.NewReader(c.in), "boxes.csv")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "boxes.csv") {
				t.Errorf("%s: error %v, want one naming boxes.csv and containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestParseBaseline(t *testing.T) {
	for in, want := range map[string]Baseline{"zero": Zero, "BLUR": Blur, " mean ": Mean, "": Zero} {
		if got, err := ParseBaseline(in); err != nil || got != want {
			t.Errorf("ParseBaseline(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseBaseline("noise"); err == nil || !strings.Contains(err.Error(), "zero, blur, mean") {
		t.Errorf("ParseBaseline(noise): %v, want an error listing the baselines", err)
	}
}
