package tfimage

import (
	"context"
	"fmt"
	"image"
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/cgo"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfgraph"
)

// RenderOptions say which files Render encodes for an image's maps.
type RenderOptions struct {
	// Maps is the number of maps per image and MapWidth×MapHeight their
	// size (the model input's).
	Maps, MapWidth, MapHeight int
	// Overlay encodes each map coloured with Colormap and blended with
	// opacity Alpha over the view, as JPEG at Quality (PNG when PNG is set).
	Overlay  bool
	Colormap render.Colormap
	Alpha    float64
	Quality  int
	PNG      bool
	// Map16 encodes each map as a 16-bit grayscale PNG at its own size
	// (0 → 0, 1 → 65535, as render.Gray16).
	Map16 bool
	// Thumbnail encodes the view itself as JPEG, at most Thumbnail pixels
	// on its longest side (0: none).
	Thumbnail int
}

// Rendered holds one image's encoded files.
type Rendered struct {
	// Overlays and Map16 have one file per map, in map order.
	Overlays, Map16 [][]byte
	// Thumbnail is the view as JPEG.
	Thumbnail []byte
}

// Renderer colours, blends and encodes maps with TensorFlow's kernels
// (libjpeg-turbo, libpng). It is safe for concurrent use.
type Renderer struct {
	opts RenderOptions
	s    *session
}

// NewRenderer checks opts and creates the renderer's session.
func NewRenderer(opts RenderOptions) (*Renderer, error) {
	switch {
	case opts.Maps <= 0 || opts.MapWidth <= 0 || opts.MapHeight <= 0:
		return nil, fmt.Errorf("tfimage: %d maps of %dx%d: need at least one map of positive size", opts.Maps, opts.MapWidth, opts.MapHeight)
	case opts.Overlay && opts.Colormap.Table() == nil:
		return nil, fmt.Errorf("tfimage: unknown colormap %q (%v)", opts.Colormap, render.Colormaps())
	case !(opts.Alpha >= 0 && opts.Alpha <= 1): // NaN too
		return nil, fmt.Errorf("tfimage: overlay opacity %v outside [0, 1]", opts.Alpha)
	case opts.Overlay && !opts.PNG && (opts.Quality < 1 || opts.Quality > 100):
		return nil, fmt.Errorf("tfimage: JPEG quality %d outside 1..100", opts.Quality)
	case opts.Thumbnail < 0:
		return nil, fmt.Errorf("tfimage: thumbnail size %d must be 0 (none) or positive", opts.Thumbnail)
	}
	s, err := newSession()
	if err != nil {
		return nil, err
	}
	return &Renderer{opts: opts, s: s}, nil
}

// Close frees the session.
func (r *Renderer) Close() error { return r.s.close() }

type renderGraph struct {
	view, maps, thumbSize tf.Output
	// styles and zeros are fed to the styled variant only: int32 [M]
	// render.Style, float32 [M] MapStyle.Zero.
	styles, zeros    tf.Output
	overlays, map16  []tf.Output
	thumb, thumbSame tf.Output
}

// MapStyle is how Render draws one map's overlay.
type MapStyle struct {
	// Style is the drawing (render.StyleHeat when zero).
	Style render.Style
	// Zero is where the map's 0 lies in [0,1] for render.StyleSigned
	// (explainer.Map.Zero); ignored by the other styles.
	Zero float32
}

// StyleOf is how an overlay draws a map of mp's kind: a heatmap for
// regions, a contrast-stretched gray image for pixel gradients, red and
// blue around zero for signed attributions.
func StyleOf(mp explainer.Map) MapStyle {
	switch mp.Kind {
	case explainer.GradientMap:
		return MapStyle{Style: render.StyleGradient}
	case explainer.SignedMap:
		return MapStyle{Style: render.StyleSigned, Zero: mp.Zero}
	}
	return MapStyle{Style: render.StyleHeat}
}

// Render encodes the files for one image: view is Decoded.View (uint8
// [h,w,3]), maps holds Maps maps of MapWidth×MapHeight values in [0,1]
// (values outside are clamped, NaN counts as 0), styles says how each
// overlay draws its map (nil: every map as a heatmap). One Session.Run.
func (r *Renderer) Render(ctx context.Context, view *tf.Tensor, maps [][]float32, styles []MapStyle) (*Rendered, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := r.opts
	if len(maps) != o.Maps {
		return nil, fmt.Errorf("tfimage: render: %d maps, configured for %d", len(maps), o.Maps)
	}
	needView := o.Overlay || o.Thumbnail > 0
	if needView && view == nil {
		return nil, errNotDecoded
	}
	flat := make([]float32, 0, o.Maps*o.MapWidth*o.MapHeight)
	for i, m := range maps {
		if len(m) != o.MapWidth*o.MapHeight {
			return nil, fmt.Errorf("tfimage: render: map %d has %d values, want %dx%d", i, len(m), o.MapWidth, o.MapHeight)
		}
		flat = append(flat, m...)
	}
	if styles != nil && len(styles) != o.Maps {
		return nil, fmt.Errorf("tfimage: render: %d styles for %d maps", len(styles), o.Maps)
	}
	styled := false
	for _, st := range styles {
		if st.Style < render.StyleHeat || st.Style > render.StyleSigned {
			return nil, fmt.Errorf("tfimage: render: unknown style %d", st.Style)
		}
		styled = styled || st.Style != render.StyleHeat
	}
	styled = styled && o.Overlay
	g, err := r.graph(styled)
	if err != nil {
		return nil, err
	}
	mt, err := tfgraph.NewFloat32(flat, int64(o.Maps), int64(o.MapHeight), int64(o.MapWidth))
	if err != nil {
		return nil, err
	}
	defer cgo.DeleteTensor(mt)
	feeds := map[tf.Output]*tf.Tensor{g.maps: mt}
	var fetches []tf.Output
	if needView {
		feeds[g.view] = view
		fetches = append(fetches, g.overlays...)
	}
	if styled {
		ids, zeros := make([]int32, o.Maps), make([]float32, o.Maps)
		for i, st := range styles {
			ids[i], zeros[i] = int32(st.Style), st.Zero
		}
		st, err := tfgraph.NewInt32(ids, int64(o.Maps))
		if err != nil {
			return nil, err
		}
		defer cgo.DeleteTensor(st)
		zt, err := tfgraph.NewFloat32(zeros, int64(o.Maps))
		if err != nil {
			return nil, err
		}
		defer cgo.DeleteTensor(zt)
		feeds[g.styles], feeds[g.zeros] = st, zt
	}
	fetches = append(fetches, g.map16...)
	if o.Thumbnail > 0 {
		sh := view.Shape()
		s := math.Min(1, float64(o.Thumbnail)/float64(max(sh[0], sh[1])))
		if s == 1 {
			fetches = append(fetches, g.thumbSame)
		} else {
			fetches = append(fetches, g.thumb)
		}
		ts, err := tfgraph.NewInt32([]int32{int32(max(1, math.Round(float64(sh[0])*s))), int32(max(1, math.Round(float64(sh[1])*s)))}, 2)
		if err != nil {
			return nil, err
		}
		defer cgo.DeleteTensor(ts)
		if s < 1 {
			feeds[g.thumbSize] = ts
		}
	}
	out, err := r.s.run(feeds, fetches)
	if err != nil {
		return nil, fmt.Errorf("tfimage: render: %w", err)
	}
	defer cgo.DeleteTensors(out)
	str := func(t *tf.Tensor) []byte { s, _ := t.Value().(string); return []byte(s) }
	res := &Rendered{}
	i := 0
	for range g.overlays {
		res.Overlays = append(res.Overlays, str(out[i]))
		i++
	}
	for range g.map16 {
		res.Map16 = append(res.Map16, str(out[i]))
		i++
	}
	if o.Thumbnail > 0 {
		res.Thumbnail = str(out[i])
	}
	return res, nil
}

// graph returns the render graph; styled, the variant that draws each
// map in its fed render.Style (heat-only runs keep the plain one, which
// costs less per pixel).
func (r *Renderer) graph(styled bool) (*renderGraph, error) {
	key := "render"
	if styled {
		key = "render-styled"
	}
	return variant(r.s, key, func(sc *op.Scope) (*renderGraph, error) {
		o := ops{sc}
		opt := r.opts
		g := &renderGraph{
			view:      op.Placeholder(sc.SubScope("view"), tf.Uint8, op.PlaceholderShape(tf.MakeShape(-1, -1, 3))),
			maps:      op.Placeholder(sc.SubScope("maps"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(opt.Maps), int64(opt.MapHeight), int64(opt.MapWidth)))),
			thumbSize: op.Placeholder(sc.SubScope("thumb_size"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2))),
		}
		// clamp(v, 0, 1) with NaN as 0.
		m := op.ClipByValue(o.sc(), g.maps, o.c(float32(0)), o.c(float32(1)))
		m = op.Select(o.sc(), op.IsNan(o.sc(), m), op.ZerosLike(o.sc(), m), m)
		if opt.Overlay {
			// The map is resized to the view (bilinear, half-pixel centres,
			// as render.ResizeMap), then coloured: colours never blend
			// into hues the colormap lacks.
			size := op.StridedSlice(o.sc(), op.Shape(o.sc(), g.view), o.c([]int32{0}), o.c([]int32{2}), o.c([]int32{1}))
			up := op.ResizeBilinear(o.sc(), o.expand(m, 3), size, op.ResizeBilinearHalfPixelCenters(true))
			up = op.Squeeze(o.sc(), up, op.SqueezeAxis([]int64{3}))
			var blend tf.Output
			if styled {
				g.styles = op.Placeholder(sc.SubScope("styles"), tf.Int32, op.PlaceholderShape(tf.MakeShape(int64(opt.Maps))))
				g.zeros = op.Placeholder(sc.SubScope("zeros"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(opt.Maps))))
				blend = r.styledBlend(o, g, m, up)
			} else {
				// Bilinear interpolation of values in [0,1] stays in [0,1]:
				// the level is v·4095 rounded half up (a cast truncates), as
				// render's lookup. The table is pre-multiplied by α and the
				// blend, a convex combination of 0..255 values, needs no clip.
				idx := op.Cast(o.sc(), o.add(o.mul(up, o.c(float32(render.TableLevels-1))), o.c(float32(0.5))), tf.Int32)
				table := opt.Colormap.Table()
				a := float32(opt.Alpha)
				lut := make([][3]float32, len(table))
				for i, c := range table {
					lut[i] = [3]float32{a * float32(c[0]), a * float32(c[1]), a * float32(c[2])}
				}
				colour := op.GatherV2(o.sc(), o.c(lut), idx, o.c(int32(0))) // [M,h,w,3]
				blend = o.add(o.add(o.mul(o.f32(g.view), o.c(1-a)), colour), o.c(float32(0.5)))
			}
			for _, ov := range op.Unpack(o.sc(), op.Cast(o.sc(), blend, tf.Uint8), int64(opt.Maps)) {
				if opt.PNG {
					g.overlays = append(g.overlays, op.EncodePng(o.sc(), ov))
				} else {
					g.overlays = append(g.overlays, op.EncodeJpeg(o.sc(), ov, op.EncodeJpegQuality(int64(opt.Quality)), op.EncodeJpegOptimizeSize(false)))
				}
			}
		}
		if opt.Map16 {
			v := op.Cast(o.sc(), op.Round(o.sc(), o.mul(m, o.c(float32(65535)))), tf.Uint16)
			for _, one := range op.Unpack(o.sc(), o.expand(v, 3), int64(opt.Maps)) {
				g.map16 = append(g.map16, op.EncodePng(o.sc(), one, op.EncodePngCompression(1)))
			}
		}
		if opt.Thumbnail > 0 {
			// A box filter: a thumbnail needs no better, and it is cheap.
			small := op.ResizeArea(o.sc(), o.expand(g.view, 0), g.thumbSize)
			small = op.Squeeze(o.sc(), small, op.SqueezeAxis([]int64{0}))
			g.thumb = op.EncodeJpeg(o.sc(), o.toUint8(small), op.EncodeJpegQuality(90))
			g.thumbSame = op.EncodeJpeg(o.sc(), g.view, op.EncodeJpegQuality(90))
		}
		return g, nil
	})
}

// styledBlend is the overlays [M,h,w,3] (float32 0.5..255.5, ready to
// truncate) of maps m [M,H,W] resized to up [M,h,w], each drawn in its
// fed style (render.Style): one formula whose per-map constants the style
// picks. With t the map's value stretched per style — v (heat), v / its
// 99th percentile (gradient), (v − zero) / the 99th percentile of |v −
// zero| (signed) — clipped to [lo,1] (lo = −1 for signed, else 0), the colour is row
// style·4096 + round((t − lo)/(1 − lo)·4095) of a table holding the
// colormap, a gray ramp and the two signed colours, and the opacity is
// a0 + a1·|t|: (α, 0) heat, (1, 0) gradient (the map alone), (0, min(1,
// 2α)) signed. A heat map gets exactly the plain graph's pixels.
func (r *Renderer) styledBlend(o ops, g *renderGraph, m, up tf.Output) tf.Output {
	opt := r.opts
	levels := render.TableLevels
	col := func(x tf.Output) tf.Output { return op.Reshape(o.sc(), x, o.c([]int32{-1, 1, 1})) } // [M] → [M,1,1]
	isHeat := op.Equal(o.sc(), g.styles, o.c(int32(render.StyleHeat)))
	isSigned := op.Equal(o.sc(), g.styles, o.c(int32(render.StyleSigned)))
	ones := op.OnesLike(o.sc(), g.zeros)
	signed := op.Cast(o.sc(), isSigned, tf.Float) // [M] 1 or 0
	zero := o.mul(g.zeros, signed)
	lo := op.Neg(o.sc(), signed)
	// The gradient and signed styles' full scale: the k-th largest
	// |v − zero| of the map (zero 0 for gradients), k = 1 % of the
	// pixels rounded up: the 99th percentile as an order statistic.
	hw := opt.MapWidth * opt.MapHeight
	k := max(1, (hw*(100-render.GradientPercentile)+99)/100)
	dev := op.Abs(o.sc(), o.sub(m, col(zero)))
	top, _ := op.TopKV2(o.sc(), op.Reshape(o.sc(), dev, o.c([]int32{int32(opt.Maps), int32(hw)})), o.c(int32(k)))
	p := op.Min(o.sc(), top, o.c(int32(1)))
	gain := op.Select(o.sc(), isHeat, ones, op.RealDiv(o.sc(), ones, op.Maximum(o.sc(), p, o.c(float32(1e-12)))))
	t := o.mul(o.sub(up, col(zero)), col(gain))
	t = op.Maximum(o.sc(), op.Minimum(o.sc(), t, o.c(float32(1))), col(lo))
	level := op.RealDiv(o.sc(), o.sub(t, col(lo)), o.sub(o.c(float32(1)), col(lo)))
	idx := o.add(o.mul(col(g.styles), o.c(int32(levels))),
		op.Cast(o.sc(), o.add(o.mul(level, o.c(float32(levels-1))), o.c(float32(0.5))), tf.Int32))
	table := make([][3]float32, 0, 3*levels)
	for _, c := range opt.Colormap.Table() {
		table = append(table, [3]float32{float32(c[0]), float32(c[1]), float32(c[2])})
	}
	for i := range levels {
		v := float32(math.Round(float64(i) * 255 / float64(levels-1)))
		table = append(table, [3]float32{v, v, v})
	}
	sc := render.SignedColors
	for i := range levels {
		c := sc.Against
		if i >= levels/2 {
			c = sc.For
		}
		table = append(table, [3]float32{float32(c[0]), float32(c[1]), float32(c[2])})
	}
	colour := op.GatherV2(o.sc(), o.c(table), idx, o.c(int32(0))) // [M,h,w,3]
	a := float32(opt.Alpha)
	a0 := op.GatherV2(o.sc(), o.c([]float32{a, 1, 0}), g.styles, o.c(int32(0)))
	a1 := op.GatherV2(o.sc(), o.c([]float32{0, 0, min(1, 2*a)}), g.styles, o.c(int32(0)))
	alpha := o.add(col(a0), o.mul(col(a1), op.Abs(o.sc(), t))) // [M,h,w]
	alpha = o.expand(alpha, 3)
	return o.add(o.add(o.mul(o.f32(g.view), o.sub(o.c(float32(1)), alpha)), o.mul(colour, alpha)), o.c(float32(0.5)))
}

// ViewImage copies a Decoded.View (uint8 [h,w,3]) into a Go image, for
// pictures drawn in Go (render.ConceptOverlay).
func ViewImage(view *tf.Tensor) (*image.NRGBA, error) {
	if view == nil {
		return nil, errNotDecoded
	}
	px, ok := view.Value().([][][]uint8)
	if !ok || len(px) == 0 || len(px[0]) == 0 || len(px[0][0]) != 3 {
		return nil, fmt.Errorf("tfimage: view of shape %v: want uint8 [h,w,3] (Decoded.View)", view.Shape())
	}
	img := image.NewNRGBA(image.Rect(0, 0, len(px[0]), len(px)))
	for y, row := range px {
		for x, p := range row {
			copy(img.Pix[img.PixOffset(x, y):], []uint8{p[0], p[1], p[2], 255})
		}
	}
	return img, nil
}
