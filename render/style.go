package render

// Style is how an overlay draws a map (tfimage.Renderer).
type Style int

const (
	// StyleHeat colours the map with the colormap and blends it over the
	// image at the overlay opacity: the class-activation-map look.
	StyleHeat Style = iota
	// StyleGradient draws the map alone as a gray image, white where it
	// is strongest, contrast-stretched so that its 99th percentile is
	// white (values above are clipped), as PAIR's saliency library
	// (VisualizeImageGrayscale) and the SmoothGrad paper show pixel
	// gradients: most of such a map is near zero after min–max scaling,
	// and a heatmap of it is a dark wash.
	StyleGradient
	// StyleSigned draws a signed attribution around its zero: red where
	// the map is above it (evidence for the target), blue below
	// (against), with an opacity of |v − zero| over the 99th percentile
	// of that distance (clipped at 1), times twice the overlay opacity
	// (at most 1): zero shows the image itself, the strongest percent of
	// the evidence either way is solid. Attributions are spiky, so a
	// scale set by the single extreme would leave the rest invisible
	// (Captum's visualisation clips its 2 % outliers for the same reason).
	StyleSigned
)

// SignedColors are StyleSigned's colours for evidence for and against
// the target: ColorBrewer RdBu's ends.
var SignedColors = struct{ For, Against [3]uint8 }{For: [3]uint8{178, 24, 43}, Against: [3]uint8{33, 102, 172}}

// GradientPercentile is the percentile StyleGradient stretches to white
// and StyleSigned to full opacity.
const GradientPercentile = 99

// String names the style.
func (s Style) String() string {
	switch s {
	case StyleGradient:
		return "gradient"
	case StyleSigned:
		return "signed"
	}
	return "heat"
}
