package explainer

// MapKind says what a method's map holds, which decides how it is best
// drawn (tfcam maps each kind to a render.Style).
type MapKind int

const (
	// RegionMap is non-negative evidence over regions, smooth at the
	// layer's resolution or coarser: the CAM methods, Score-CAM and the
	// other perturbation maps that are ReLU'd. Drawn as a heatmap over the
	// image.
	RegionMap MapKind = iota
	// GradientMap is a per-pixel gradient magnitude (saliency, SmoothGrad,
	// SquareGrad, VarGrad, guided backpropagation, Guided Grad-CAM): sparse
	// and edge-like, most pixels near zero after min–max scaling, so a
	// heatmap of it is a dark wash. Drawn as a contrast-stretched gray
	// image, as the papers show them.
	GradientMap
	// SignedMap is a signed attribution (Integrated Gradients,
	// Gradient×Input, GradientSHAP, Occlusion, RISE): values above
	// Map.Zero count for the explained target, below it against. Drawn
	// with two colours around zero.
	SignedMap
)

// String names the kind.
func (k MapKind) String() string {
	switch k {
	case GradientMap:
		return "gradient"
	case SignedMap:
		return "signed"
	}
	return "region"
}

// gradientMethod is implemented by methods whose map is a per-pixel
// gradient magnitude (GradientMap).
type gradientMethod interface{ PixelGradient() bool }

// KindOf is the kind of m's maps: SignedMap for methods that keep their
// sign, GradientMap for those that say their map is a pixel gradient,
// RegionMap for every other.
func KindOf(m Method) MapKind {
	if isSigned(m) {
		return SignedMap
	}
	if g, ok := m.(gradientMethod); ok && g.PixelGradient() {
		return GradientMap
	}
	return RegionMap
}
