package render

import (
	"image/color"
	"math"
	"strings"
	"testing"
)

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{R: r, G: g, B: b, A: 0xff} }

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return abs(int(x)-int(y)) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && a.A == b.A
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestColormapColor(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name string
		cm   Colormap
		v    float32
		want color.NRGBA
		tol  int
	}{
		{"jet 0 dark blue", Jet, 0, rgb(0, 0, 128), 0},
		{"jet 1/8 blue", Jet, 0.125, rgb(0, 0, 255), 0},
		{"jet 3/8 cyan", Jet, 0.375, rgb(0, 255, 255), 0},
		{"jet 0.5 green-ish", Jet, 0.5, rgb(128, 255, 128), 1}, // 127.5 exactly: either neighbour
		{"jet 5/8 yellow", Jet, 0.625, rgb(255, 255, 0), 0},
		{"jet 7/8 red", Jet, 0.875, rgb(255, 0, 0), 0},
		{"jet 1 dark red", Jet, 1, rgb(128, 0, 0), 0},
		{"viridis 0 #440154", Viridis, 0, rgb(0x44, 0x01, 0x54), 0},
		{"viridis 0.5 #21918C", Viridis, 0.5, rgb(0x21, 0x91, 0x8c), 1},
		{"viridis 1 #FDE725", Viridis, 1, rgb(0xfd, 0xe7, 0x25), 0},
		{"turbo 0 dark purple", Turbo, 0, rgb(48, 18, 59), 0},
		{"turbo 0.5 green", Turbo, 0.5, rgb(164, 252, 60), 1},
		{"turbo 1 dark red", Turbo, 1, rgb(122, 4, 3), 0},
		{"below 0 clamps", Jet, -3, rgb(0, 0, 128), 0},
		{"above 1 clamps", Viridis, 7, rgb(0xfd, 0xe7, 0x25), 0},
		{"+Inf clamps", Turbo, inf, rgb(122, 4, 3), 0},
		{"-Inf clamps", Turbo, -inf, rgb(48, 18, 59), 0},
		{"NaN is 0", Jet, nan, rgb(0, 0, 128), 0},
		{"unknown is gray", Colormap("nope"), 1, rgb(255, 255, 255), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cm.Color(tt.v); !near(got, tt.want, tt.tol) {
				t.Errorf("%s.Color(%v) = %v, want %v (±%d)", tt.cm, tt.v, got, tt.want, tt.tol)
			}
		})
	}
}

// TestColormapContinuous guards the tables and formulas against typos: a
// colormap has no jumps, so neighbouring values give neighbouring colours.
func TestColormapContinuous(t *testing.T) {
	const steps = 1024
	for _, cm := range Colormaps() {
		t.Run(string(cm), func(t *testing.T) {
			prev := cm.Color(0)
			for i := 1; i <= steps; i++ {
				c := cm.Color(float32(i) / steps)
				if !near(c, prev, 5) {
					t.Fatalf("jump between %v and %v: %v → %v", float32(i-1)/steps, float32(i)/steps, prev, c)
				}
				prev = c
			}
		})
	}
}

func TestParseColormap(t *testing.T) {
	tests := []struct {
		in      string
		want    Colormap
		wantErr bool
	}{
		{"jet", Jet, false},
		{"turbo", Turbo, false},
		{"viridis", Viridis, false},
		{" Viridis ", Viridis, false},
		{"TURBO", Turbo, false},
		{"", "", true},
		{"hot", "", true},
		{"jet,turbo", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseColormap(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseColormap(%q) = %q, want error", tt.in, got)
				}
				for _, name := range []string{"jet", "turbo", "viridis", `"` + tt.in + `"`} {
					if !strings.Contains(err.Error(), name) {
						t.Errorf("error %q does not mention %s", err, name)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseColormap(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func BenchmarkColor(b *testing.B) {
	for _, cm := range Colormaps() {
		b.Run(string(cm), func(b *testing.B) {
			var sink uint8
			for i := 0; b.Loop(); i++ {
				sink += cm.Color(float32(i&1023) / 1023).G
			}
			_ = sink
		})
	}
}
