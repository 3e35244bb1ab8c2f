package render

import (
	"fmt"
	"image/color"
	"math"
	"strings"
	"sync"
)

// Colormap maps [0,1] to a colour. Its value is the name used on the
// command line.
type Colormap string

// The colormaps render knows.
const (
	// Jet is MATLAB's classic blue–cyan–yellow–red map, the Grad-CAM paper's
	// default. It is not perceptually uniform.
	Jet Colormap = "jet"
	// Turbo is Google's improved rainbow map: jet's look, smoother lightness.
	Turbo Colormap = "turbo"
	// Viridis is matplotlib's perceptually uniform, colour-blind-safe map.
	Viridis Colormap = "viridis"
)

// colormaps is the order in which names are listed (and documented).
var colormaps = []Colormap{Jet, Turbo, Viridis}

// Colormaps returns every known colormap, in a stable order.
func Colormaps() []Colormap {
	return append([]Colormap(nil), colormaps...)
}

// ParseColormap returns the colormap named s (case and surrounding spaces
// ignored). The error for an unknown name lists the known ones.
func ParseColormap(s string) (Colormap, error) {
	c := Colormap(strings.ToLower(strings.TrimSpace(s)))
	if c.valid() {
		return c, nil
	}
	return "", fmt.Errorf("render: %w", unknownColormap(s))
}

// unknownColormap is the error for a bad name, listing the good ones.
func unknownColormap(s string) error {
	names := make([]string, len(colormaps))
	for i, k := range colormaps {
		names[i] = string(k)
	}
	return fmt.Errorf("unknown colormap %q (want one of %s)", s, strings.Join(names, ", "))
}

func (c Colormap) valid() bool {
	switch c {
	case Jet, Turbo, Viridis:
		return true
	}
	return false
}

// Color returns the colormap's colour for v in [0,1]; v is clamped to that
// range and NaN counts as 0. The colour is opaque. An unknown Colormap gives
// gray levels; validate names with ParseColormap.
//
// Colours come from a table of lutSize levels built on first use, so v is
// effectively quantized to 1/4095 — finer than 8-bit colour can show (at
// most one unit per channel off the exact formula) and cheap enough for
// every pixel of a large overlay.
func (c Colormap) Color(v float32) color.NRGBA {
	lut := c.lut()
	if lut == nil {
		g := to8(clamp01(v))
		return color.NRGBA{R: g, G: g, B: g, A: 0xff}
	}
	return lut[lutIndex(v)]
}

// lutSize is the number of levels in a colormap's lookup table.
const lutSize = 4096

func lutIndex(v float32) int {
	return int(clamp01(v)*(lutSize-1) + 0.5)
}

// The tables are built once, when first used.
var (
	jetLUT     = sync.OnceValue(func() *[lutSize]color.NRGBA { return buildLUT(jet) })
	turboLUT   = sync.OnceValue(func() *[lutSize]color.NRGBA { return buildLUT(tableFunc(&turboTable)) })
	viridisLUT = sync.OnceValue(func() *[lutSize]color.NRGBA { return buildLUT(tableFunc(&viridisTable)) })
)

// lut returns c's table, or nil for an unknown colormap.
func (c Colormap) lut() *[lutSize]color.NRGBA {
	switch c {
	case Jet:
		return jetLUT()
	case Turbo:
		return turboLUT()
	case Viridis:
		return viridisLUT()
	}
	return nil
}

func buildLUT(f func(t float32) (r, g, b float32)) *[lutSize]color.NRGBA {
	var lut [lutSize]color.NRGBA
	for i := range lut {
		r, g, b := f(float32(i) / (lutSize - 1))
		lut[i] = color.NRGBA{R: to8(r), G: to8(g), B: to8(b), A: 0xff}
	}
	return &lut
}

// clamp01 clamps v to [0,1], sending NaN to 0.
func clamp01(v float32) float32 {
	switch {
	case v > 1:
		return 1
	case v >= 0:
		return v
	}
	return 0 // negative or NaN
}

// to8 rounds a channel in [0,1] (clamped: jet's trapezoids exceed it) to
// 0..255.
func to8(x float32) uint8 {
	return uint8(clamp01(x)*255 + 0.5)
}

// jet is MATLAB's jet: each channel is a trapezoid, 1.5 - |4t - k| clamped
// to [0,1], centred at t = 3/4 (red), 1/2 (green) and 1/4 (blue). It runs
// dark blue (0,0,0.5) → blue → cyan → yellow → red → dark red (0.5,0,0).
func jet(t float32) (r, g, b float32) {
	x := 4 * t
	return 1.5 - abs32(x-3), 1.5 - abs32(x-2), 1.5 - abs32(x-1)
}

func abs32(x float32) float32 {
	return float32(math.Abs(float64(x)))
}

// tableFunc adapts a published table to buildLUT.
func tableFunc(tab *[256][3]uint8) func(t float32) (r, g, b float32) {
	return func(t float32) (r, g, b float32) { return table(tab, t) }
}

// table interpolates linearly between the 256 entries of a published
// colormap table (colormap_data.go), so the result is exact at the entries.
//
// Turbo uses its table rather than the well-known degree-5 polynomial that
// came with it (Mikhailov 2019; GLSL fit by Ruofei Du): measured against the
// table, that fit is off by up to 32/255 per channel and turns Turbo's dark
// purple at 0 into a brownish black.
func table(tab *[256][3]uint8, t float32) (r, g, b float32) {
	p := t * 255
	i := min(int(p), 254)
	f := p - float32(i)
	lo, hi := &tab[i], &tab[i+1]
	lerp := func(a, b uint8) float32 {
		return (float32(a) + f*(float32(b)-float32(a))) / 255
	}
	return lerp(lo[0], hi[0]), lerp(lo[1], hi[1]), lerp(lo[2], hi[2])
}
