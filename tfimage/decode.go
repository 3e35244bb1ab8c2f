package tfimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/disintegration/imaging"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/cgo"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/tfgraph"
)

// DecodeOptions say what Decode makes of a file.
type DecodeOptions struct {
	// Width, Height and Channels (3, or 1 for grayscale models) are the
	// model input's size: the file is stretched to it (aspect ratio not
	// kept, like Keras' load_img(target_size=...)).
	Width, Height, Channels int
	// Preprocess maps 0..255 pixels to model values.
	Preprocess imagefile.Preprocess
	// ViewSize bounds the longest side of the View image that Decode also
	// returns for overlays; 0 returns none. Images are never enlarged.
	ViewSize int
	// MaxBytes bounds the memory one image may take while it is decoded
	// (0: DefaultMaxBytes): its decoded pixels — a JPEG at the size DCT
	// scaling decodes it (down to 1/8 per side), any other format at its
	// full size — times the bytes per pixel of the way it is decoded
	// (BytesPerPixel). An image over it is refused from its header,
	// before any pixel memory is taken (imagefile.ErrTooLarge).
	MaxBytes int64
}

// DefaultMaxBytes is the decoder's default memory budget per image, 512
// MiB: an opaque PNG (or a JPEG after DCT scaling) of up to 134
// megapixels, a PNG with alpha of up to 14.9, an image Go decodes (GIF,
// BMP, TIFF, WebP, CMYK JPEG) of up to 10.3.
const DefaultMaxBytes = 512 << 20

// BytesPerPixel is the peak memory per decoded pixel of each way the
// decoder decodes, budgeted a little above what it measured (peak RSS
// over the process's, on 16- and 49-megapixel files): TensorFlow
// resampling an opaque image from its bytes (JPEG, PNG without alpha:
// measured 3.2), TensorFlow premultiplying a PNG's alpha in float32
// (measured 31.5), Go's decoders and their copies (measured 46).
var BytesPerPixel = struct{ Opaque, Alpha, Go int64 }{Opaque: 4, Alpha: 36, Go: 52}

// Decoded is one decoded image.
type Decoded struct {
	// Pixels is the model input, [Height,Width,Channels] row-major.
	Pixels []float32
	// View is the image as uint8 RGB [h,w,3] at most ViewSize on its longest
	// side, for Renderer. It lives in C memory: Release frees it.
	View *tf.Tensor
	// Width and Height are the image's own size, upright (after EXIF
	// orientation); ViewWidth and ViewHeight View's.
	Width, Height, ViewWidth, ViewHeight int
	// Format is what the file is ("jpeg", "png", "gif", ...); TensorFlow
	// tells whether TensorFlow's kernels decoded it (else Go's decoders).
	Format     string
	TensorFlow bool
	// Warning, when set, says why the result may not be the image: it
	// decoded to one colour throughout, which a truncated or corrupt file
	// gives as readily as a blank one.
	Warning string
}

// Release frees View. It is safe to call more than once.
func (d *Decoded) Release() {
	if d != nil && d.View != nil {
		cgo.DeleteTensor(d.View)
		d.View = nil
	}
}

// Decoder decodes image files into model inputs with TensorFlow's kernels.
// It is safe for concurrent use; run it from several goroutines to use
// several cores.
type Decoder struct {
	opts  DecodeOptions
	s     *session
	scale [3]float32
	bias  [3]float32
	bgr   bool
}

// NewDecoder checks opts and creates the decoder's session.
func NewDecoder(opts DecodeOptions) (*Decoder, error) {
	if opts.Width <= 0 || opts.Height <= 0 {
		return nil, fmt.Errorf("tfimage: model input size %dx%d must be positive", opts.Width, opts.Height)
	}
	if opts.ViewSize < 0 {
		return nil, fmt.Errorf("tfimage: view size %d must be 0 (none) or positive", opts.ViewSize)
	}
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("tfimage: memory budget %d must be 0 (the default) or positive", opts.MaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	scale, bias, bgr, err := opts.Preprocess.Affine(opts.Channels)
	if err != nil {
		return nil, err
	}
	s, err := newSession()
	if err != nil {
		return nil, err
	}
	return &Decoder{opts: opts, s: s, scale: scale, bias: bias, bgr: bgr}, nil
}

// Close frees the session.
func (d *Decoder) Close() error { return d.s.close() }

// decodeGraph is one variant: source format, JPEG ratio, orientation.
type decodeGraph struct {
	contents tf.Output // string scalar (jpeg, png) or uint8 [h,w,4] (raw)
	viewSize tf.Output // int32 [2]
	pixels   tf.Output // float32 [H,W,C]
	view     tf.Output // uint8 [h,w,3]
}

type source int

const (
	fromJPEG   source = iota // string → DecodeJpeg, 3 channels
	fromPNG                  // string → DecodePng, 4 channels
	fromRGBA                 // uint8 [h,w,4] decoded by Go
	fromPNGRGB               // string → DecodePng, 3 channels: a PNG without alpha
)

// opaque reports whether the source has no alpha channel: its pixels are
// resampled as they are decoded (uint8), never copied to float32 at full
// size.
func (s source) opaque() bool { return s == fromJPEG || s == fromPNGRGB }

// Decode turns one file's bytes into a model input and a view. name is
// used in errors only. Errors are imagefile's (ErrCorrupt, ErrTruncated,
// ErrUnsupported, ErrTooLarge, ...): every file TensorFlow rejects is tried
// with Go's decoders, whose diagnosis is the one reported.
func (d *Decoder) Decode(ctx context.Context, data []byte, name string) (*Decoded, error) {
	dec, err := d.decode(ctx, data, name)
	if err == nil && len(dec.Pixels) > 0 && uniform(dec.Pixels, d.opts.Channels, d.scale) {
		dec.Warning = fmt.Sprintf("decoded to a single colour throughout (%d×%d): if the file is not blank, it is truncated or corrupt and its explanation means nothing", dec.Width, dec.Height)
	}
	return dec, err
}

// uniform reports whether every pixel of a [H,W,c] image is the same, to
// within half a level of 0..255 (resampling a flat image in float32 moves
// its values by an ulp or so); scale is the preprocessing's, per channel.
func uniform(px []float32, c int, scale [3]float32) bool {
	for i := c; i < len(px); i++ {
		k := i % c
		if d := px[i] - px[k]; d > scale[k]/2 || d < -scale[k]/2 {
			return false
		}
	}
	return true
}

// decode is Decode without the single-colour check.
func (d *Decoder) decode(ctx context.Context, data []byte, name string) (*Decoded, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	orient := 1
	if err == nil && format == "jpeg" {
		orient = max(imagefile.Orientation(data), 1)
	}
	// A truncated JPEG goes straight to Go's decoder, which names the
	// damage: TensorFlow's would print its own lines about it and fail.
	tfPath := err == nil && (format == "jpeg" || format == "png") && cfg.Width > 0 && cfg.Height > 0 &&
		cfg.Width <= imagefile.MaxPixels/cfg.Height && !(format == "jpeg" && imagefile.JPEGTruncated(data))
	alpha := format == "png" && imagefile.PNGHasAlpha(data) // read once: the budget and the decode path
	if err == nil && cfg.Width > 0 && cfg.Height > 0 {
		// The budget, from the header, before any pixel is decoded.
		if err := d.checkBudget(name, format, alpha, cfg.Width, cfg.Height, orient, tfPath); err != nil {
			return nil, err
		}
	}
	if tfPath {
		if dec, err := d.decodeTF(data, format, alpha, cfg.Width, cfg.Height, orient); err == nil {
			return dec, nil
		}
		// CMYK JPEGs, odd PNGs, data TensorFlow rejects: Go's decoders
		// read them or say precisely what is wrong, at full size and
		// with their own copies: within the budget only as Go decodes.
		if err := d.checkBudget(name, format, alpha, cfg.Width, cfg.Height, orient, false); err != nil {
			return nil, err
		}
	}
	img, err := imagefile.DecodeBytes(data, name)
	if err != nil {
		return nil, err
	}
	return d.decodeGo(img, format)
}

// decodeTF decodes JPEG or PNG data with TensorFlow's kernels.
func (d *Decoder) decodeTF(data []byte, format string, alpha bool, w0, h0, orient int) (dec *Decoded, err error) {
	W, H := w0, h0
	if orient >= 5 { // transposed
		W, H = h0, w0
	}
	vw, vh := d.viewSize(W, H)
	src, ratio, viewRatio := fromPNG, 1, 1
	switch {
	case format == "jpeg":
		src, ratio, viewRatio = fromJPEG, d.jpegModelRatio(w0, h0, orient), d.jpegViewRatio(w0, h0, orient)
	case !alpha:
		// Also the fix for 1-, 2- and 4-bit PNGs without transparency,
		// which TensorFlow's decoder, asked for an alpha channel, fills
		// with a wrong alpha (the picture came out near-white).
		src = fromPNGRGB
	}
	contents, err := tf.NewTensor(string(data))
	if err != nil {
		return nil, err
	}
	defer cgo.DeleteTensor(contents)
	wantView := d.opts.ViewSize > 0
	if wantView && viewRatio < ratio {
		// The view needs more pixels than the model input is made from:
		// two decodes, so that the model input never depends on the
		// view (a DCT-scaled decode is not a downscaled full one).
		gv, err := d.graph(src, viewRatio, orient, chooseViewResize(ceilDiv(W, viewRatio), ceilDiv(H, viewRatio), vw, vh))
		if err != nil {
			return nil, err
		}
		view, err := d.run(gv, contents, vw, vh, false, true)
		if err != nil {
			return nil, err
		}
		wantView = false
		defer func() {
			if dec != nil {
				dec.View, dec.ViewWidth, dec.ViewHeight = view.View, vw, vh
			} else {
				view.Release()
			}
		}()
	}
	g, err := d.graph(src, ratio, orient, chooseViewResize(ceilDiv(W, ratio), ceilDiv(H, ratio), vw, vh))
	if err != nil {
		return nil, err
	}
	dec, err = d.run(g, contents, vw, vh, true, wantView)
	if err != nil {
		return nil, err
	}
	dec.Width, dec.Height, dec.Format, dec.TensorFlow = W, H, format, true
	return dec, nil
}

// checkBudget refuses an image of w×h pixels (a PNG with alpha when
// alpha) whose decoding, by TensorFlow's kernels (tf) or by Go's, would
// take more than MaxBytes.
func (d *Decoder) checkBudget(name, format string, alpha bool, w, h, orient int, tf bool) error {
	ratio, bpp, how := 1, BytesPerPixel.Go, "Go's decoder"
	switch {
	case tf && format == "jpeg":
		ratio, bpp, how = d.jpegRatio(w, h, orient), BytesPerPixel.Opaque, "JPEG"
	case tf && alpha:
		bpp, how = BytesPerPixel.Alpha, "PNG with alpha"
	case tf:
		bpp, how = BytesPerPixel.Opaque, "opaque PNG"
	}
	pw, ph := int64(ceilDiv(w, ratio)), int64(ceilDiv(h, ratio))
	need := pw * ph * bpp
	if need <= d.opts.MaxBytes {
		return nil
	}
	at := ""
	if ratio > 1 {
		at = fmt.Sprintf(" (decoded at 1/%d: %d×%d)", ratio, pw, ph)
	}
	return fmt.Errorf("imagefile: %q: %w: %d×%d pixels%s; decoding it (%s) takes about %d MB, over the decoder's budget of %d MB: downscale it, or raise the budget",
		name, imagefile.ErrTooLarge, w, h, at, how, need>>20, d.opts.MaxBytes>>20)
}

// ModelOversample is how much larger than the model input a JPEG is
// decoded for it, at least, per side: the DCT scaling (1, 2, 4 or 8) is
// the largest that keeps the decoded image ModelOversample times the
// model input's width and height, then the antialiased resize makes the
// model input. It depends on the image and the model only — never on
// the command or the overlay size — so predict, explain, eval and serve
// give the model the same pixels. 4 is the smallest factor whose
// predictions agree with a full decode's on 99.5 % of 210 photos (mean
// |Δp| 0.0006; 2: 98.1 %, 1: 91.4 %): docs/preprocessing.md has the
// table and scripts/decode_study.py the measurement.
const ModelOversample = 4

// jpegModelRatio is the DCT scaling the model input is decoded at, for a
// JPEG of w0×h0 pixels (EXIF orientation orient): the largest that keeps
// it at least ModelOversample times the model input, in the file's axes.
func (d *Decoder) jpegModelRatio(w0, h0, orient int) int {
	needW, needH := ModelOversample*d.opts.Width, ModelOversample*d.opts.Height
	if orient >= 5 { // transposed
		needW, needH = needH, needW
	}
	return largestRatio(w0, h0, needW, needH)
}

// jpegViewRatio is the DCT scaling the view is decoded at: the largest
// that keeps it at least the view's size (1 when there is no view).
func (d *Decoder) jpegViewRatio(w0, h0, orient int) int {
	if d.opts.ViewSize <= 0 {
		return 8
	}
	W, H := w0, h0
	if orient >= 5 {
		W, H = h0, w0
	}
	needW, needH := d.viewSize(W, H)
	if orient >= 5 {
		needW, needH = needH, needW
	}
	return largestRatio(w0, h0, needW, needH)
}

// jpegRatio is the DCT scaling of the largest decode of a JPEG: the
// memory budget's.
func (d *Decoder) jpegRatio(w0, h0, orient int) int {
	return min(d.jpegModelRatio(w0, h0, orient), d.jpegViewRatio(w0, h0, orient))
}

// largestRatio is the largest of 8, 4, 2 that keeps w0×h0 at least
// needW×needH, else 1.
func largestRatio(w0, h0, needW, needH int) int {
	for _, r := range []int{8, 4, 2} {
		if ceilDiv(w0, r) >= needW && ceilDiv(h0, r) >= needH {
			return r
		}
	}
	return 1
}

// decodeGo feeds an image decoded (and oriented) by Go to the graph.
func (d *Decoder) decodeGo(img image.Image, format string) (*Decoded, error) {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	nrgba := imaging.Clone(img) // 8-bit non-premultiplied RGBA, tight rows
	pix, err := tf.ReadTensor(tf.Uint8, []int64{int64(H), int64(W), 4}, bytes.NewReader(nrgba.Pix))
	if err != nil {
		return nil, err
	}
	defer cgo.DeleteTensor(pix)
	vw, vh := d.viewSize(W, H)
	g, err := d.graph(fromRGBA, 1, 1, chooseViewResize(W, H, vw, vh))
	if err != nil {
		return nil, err
	}
	dec, err := d.run(g, pix, vw, vh, true, d.opts.ViewSize > 0)
	if err != nil {
		return nil, err
	}
	dec.Width, dec.Height, dec.Format = W, H, format
	return dec, nil
}

// run runs a decode graph fetching the model input (pixels) and the view
// (view) as asked.
func (d *Decoder) run(g *decodeGraph, contents *tf.Tensor, vw, vh int, pixels, view bool) (*Decoded, error) {
	size, err := tfgraph.NewInt32([]int32{int32(vh), int32(vw)}, 2)
	if err != nil {
		return nil, err
	}
	defer cgo.DeleteTensor(size)
	var fetches []tf.Output
	if pixels {
		fetches = append(fetches, g.pixels)
	}
	if view {
		fetches = append(fetches, g.view)
	}
	out, err := d.s.run(map[tf.Output]*tf.Tensor{g.contents: contents, g.viewSize: size}, fetches)
	if err != nil {
		return nil, err
	}
	dec := &Decoded{}
	if pixels {
		px, err := tfgraph.Float32s(out[0])
		cgo.DeleteTensor(out[0])
		if err != nil {
			cgo.DeleteTensors(out[1:])
			return nil, err
		}
		dec.Pixels, out = px, out[1:]
	}
	if view {
		dec.View, dec.ViewWidth, dec.ViewHeight = out[0], vw, vh
	}
	return dec, nil
}

// viewSize fits W×H into ViewSize×ViewSize, never enlarging.
func (d *Decoder) viewSize(W, H int) (int, int) {
	if d.opts.ViewSize <= 0 {
		return 1, 1
	}
	s := math.Min(1, float64(d.opts.ViewSize)/float64(max(W, H)))
	return max(1, int(math.Round(float64(W)*s))), max(1, int(math.Round(float64(H)*s)))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// viewResize is how the view is made from the decoded image.
type viewResize int

const (
	viewSame     viewResize = iota // the decoded image is the view's size
	viewBilinear                   // shrinking by at most 2: bilinear
	viewArea                       // shrinking more: area averaging
)

// chooseViewResize picks the cheapest resampling that is still a proper
// low-pass filter for shrinking w×h to vw×vh. Bilinear interpolation at
// half-pixel centres reads 2×2 neighbourhoods, so up to a factor of 2
// every source pixel contributes and nothing aliases (at exactly 2 it is
// the box filter); DCT scaling leaves most JPEGs within that factor, and
// there bilinear costs about half as much as ResizeArea (measured at
// 640×480 → 512×384: 1.0 against 1.9 ms).
func chooseViewResize(w, h, vw, vh int) viewResize {
	switch {
	case w == vw && h == vh:
		return viewSame
	case w <= 2*vw && h <= 2*vh:
		return viewBilinear
	}
	return viewArea
}

// graph builds (once) the variant for a source, JPEG ratio and EXIF
// orientation.
func (d *Decoder) graph(src source, ratio, orient int, vr viewResize) (*decodeGraph, error) {
	key := fmt.Sprintf("decode/%d/%d/%d/%d", src, ratio, orient, vr)
	return variant(d.s, key, func(sc *op.Scope) (*decodeGraph, error) {
		o := ops{sc}
		g := &decodeGraph{}
		var img tf.Output // uint8 [h,w,3|4]
		switch src {
		case fromJPEG:
			g.contents = op.Placeholder(sc.SubScope("contents"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
			img = op.DecodeJpeg(o.sc(), g.contents, op.DecodeJpegChannels(3), op.DecodeJpegRatio(int64(ratio)))
		case fromPNG, fromPNGRGB:
			channels := int64(4)
			if src == fromPNGRGB {
				channels = 3
			}
			g.contents = op.Placeholder(sc.SubScope("contents"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
			img = op.DecodePng(o.sc(), g.contents, op.DecodePngChannels(channels), op.DecodePngDtype(tf.Uint8))
		default:
			g.contents = op.Placeholder(sc.SubScope("contents"), tf.Uint8, op.PlaceholderShape(tf.MakeShape(-1, -1, 4)))
			img = g.contents
		}
		g.viewSize = op.Placeholder(sc.SubScope("view_size"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2)))
		img = orientOps(o, img, orient)
		// An opaque image is resampled from its bytes (the resize kernels
		// read any type and compute in float32: the same values as from a
		// float32 copy, without that copy at full size). Other colour is
		// premultiplied by alpha, so that resampling weights colour by
		// coverage; composited over white after resizing, as ToTensor.
		rgb, alpha := img, tf.Output{}
		if !src.opaque() {
			x := o.f32(img)
			alpha = o.mul(o.slice3(x, 3, 4), o.c(float32(1.0/255)))
			rgb = o.mul(o.slice3(x, 0, 3), alpha)
		}
		over := func(size tf.Output, resize func(x, size tf.Output) tf.Output) tf.Output {
			c := resize(rgb, size)
			if alpha.Op == nil {
				return c
			}
			a := resize(alpha, size)
			return o.add(c, o.mul(o.c(float32(255)), o.sub(o.c(float32(1)), a)))
		}
		m := over(o.c([]int32{int32(d.opts.Height), int32(d.opts.Width)}), o.resize)
		g.pixels = d.preprocess(o, m)
		viewOf := o.area
		if vr == viewBilinear {
			viewOf = o.bilinear
		}
		switch {
		case vr == viewSame && src.opaque():
			g.view = img // already upright RGB at the view's size
		case vr == viewSame:
			// Composited over white at its own size: no resampling.
			g.view = o.toUint8(o.add(rgb, o.mul(o.c(float32(255)), o.sub(o.c(float32(1)), alpha))))
		case src.opaque():
			// The view is only looked at: a box or bilinear filter is
			// enough, and several times cheaper than the triangle filter.
			g.view = o.toUint8(viewOf(img, g.viewSize))
		default:
			g.view = o.toUint8(over(g.viewSize, viewOf))
		}
		return g, nil
	})
}

// preprocess applies the preset to a [H,W,3] 0..255 image.
func (d *Decoder) preprocess(o ops, rgb tf.Output) tf.Output {
	if d.opts.Channels == 1 {
		// BT.601 luma with the weights ToTensor uses (sum 65536).
		w := o.c([]float32{19595.0 / 65536, 38470.0 / 65536, 7471.0 / 65536})
		luma := op.Sum(o.sc(), o.mul(rgb, w), o.c([]int32{2}), op.SumKeepDims(true))
		return o.add(o.mul(luma, o.c(d.scale[0])), o.c(d.bias[0]))
	}
	if d.bgr {
		rgb = op.ReverseV2(o.sc(), rgb, o.c([]int32{2}))
	}
	return o.add(o.mul(rgb, o.c(d.scale[:])), o.c(d.bias[:]))
}

// orientOps turns a [h,w,c] image upright for EXIF orientation o (1-8).
func orientOps(o ops, img tf.Output, orient int) tf.Output {
	if orient >= 5 && orient <= 8 {
		img = op.Transpose(o.sc(), img, o.c([]int32{1, 0, 2}))
	}
	var axes []int32
	switch orient {
	case 2, 6: // mirror; rotate 90° clockwise = transpose + mirror
		axes = []int32{1}
	case 3, 7: // rotate 180°; transverse = transpose + rotate 180°
		axes = []int32{0, 1}
	case 4, 8: // flip; rotate 90° counter-clockwise = transpose + flip
		axes = []int32{0}
	}
	if axes != nil {
		img = op.ReverseV2(o.sc(), img, o.c(axes))
	}
	return img
}

// errNotDecoded is returned for a nil Decoded where one is needed.
var errNotDecoded = errors.New("tfimage: no decoded image")
