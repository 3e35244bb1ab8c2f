package explainer

import (
	"fmt"
	"slices"
	"strconv"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// smoothOptions are pytorch-grad-cam's two smoothings, options of every
// class-activation method that takes them (SmoothOptions, Info.EigenSmooth,
// Info.AugSmooth): declared here once, not in each method's registration.
var smoothOptions = []Option{
	{Name: "eigen_smooth", Default: false, Doc: "first principal component of the weighted activations w⊙A instead of their sum over channels"},
	{Name: "aug_smooth", Default: false, Doc: "mean of the normalised maps of 6 test-time augmentations (horizontal flip × input values × 0.9, 1, 1.1), flipped back: 6× the forward passes"},
}

// augScales are aug_smooth's factors on the model's input values; each is
// taken with and without a horizontal flip (ttach's Compose([HorizontalFlip(),
// Multiply(factors=[0.9, 1, 1.1])])).
var augScales = []float32{0.9, 1, 1.1}

// augCopies is the number of augmented copies of each image.
var augCopies = 2 * len(augScales)

// SmoothOptions returns the options that class-activation methods share,
// eigen_smooth and aug_smooth, with their defaults: a method spec sets them
// like the method's own ("gradcam:eigen_smooth=true:aug_smooth=true"), and
// they make the method a Smoothed. Info says which methods take them.
func SmoothOptions() []Option { return slices.Clone(smoothOptions) }

// Smoothed is a class-activation method with pytorch-grad-cam 1.5's
// smoothings, the options eigen_smooth and aug_smooth of a method spec.
// Its name, and so its outputs', is the method's.
//
// EigenSmooth replaces the method's sum over the layer's channels (Σ_k w_k
// A_k, or Σ_k (w⊙A)_k for the element-wise methods: HiResCAM, LayerCAM,
// GradCAMElementWise) by the projection of the weighted activations w⊙A,
// as h·w vectors of K values centred by their mean over the positions, on
// their first right singular vector (pytorch-grad-cam's get_2d_projection).
// The singular vector's sign is EigenCAM's rule (see EigenCAM): the map
// correlates positively with the mean of w⊙A over channels, i.e. with the
// method's own map, where pytorch-grad-cam leaves it to the SVD routine.
// It does not apply to maps that are already a component (eigencam,
// eigengradcam, kpcacam) or built at the input's resolution.
//
// AugSmooth explains 6 augmented copies of each image — flipped
// horizontally or not, times input values (after preprocessing) multiplied
// by 0.9, 1 or 1.1 — runs the method on each (ReLU, upsampled to the input,
// min–max normalised, as any map), flips the flipped ones back and returns
// the mean of the 6 (then normalised, as every map: pytorch-grad-cam
// leaves the mean unscaled). The copies go through the model in the same
// Session.Run, costing 6 forward and backward passes per image on top of
// the shared ones, and 6× the method's own copies. The explained class is
// the one chosen on the original image, for every copy (pytorch-grad-cam
// re-picks the top class of each augmented copy when no target is given).
// The map is then at input resolution, so Map.LowRes is the normalised map
// at input size, and Map.Raw the mean before that last normalisation. It
// does not apply to signed attributions, input-gradient methods and
// guided backpropagation.
type Smoothed struct {
	// Method is the smoothed method; not a Smoothed itself.
	Method Method
	// EigenSmooth: a principal component instead of the channel sum.
	EigenSmooth bool
	// AugSmooth: the mean over test-time augmentations.
	AugSmooth bool
}

// Smooth returns m with eigen_smooth and aug_smooth set as given: m itself
// when both are false, else a Smoothed (m's own settings unchanged).
func Smooth(m Method, eigen, aug bool) Method {
	if s, ok := m.(Smoothed); ok {
		m, eigen, aug = s.Method, eigen || s.EigenSmooth, aug || s.AugSmooth
	}
	if !eigen && !aug {
		return m
	}
	return Smoothed{Method: m, EigenSmooth: eigen, AugSmooth: aug}
}

// Name implements Method: the smoothed method's name.
func (s Smoothed) Name() string { return s.Method.Name() }

// Needs implements Method. Under aug_smooth the method reads the copies'
// tensors, which Build computes, not the shared ones.
func (s Smoothed) Needs() Needs {
	if s.AugSmooth {
		return Needs{}
	}
	return s.Method.Needs()
}

// InputResolution implements Method: aug_smooth's mean is at input size.
func (s Smoothed) InputResolution() bool { return s.AugSmooth || inputResolution(s.Method) }

// Cost is the smoothed method's: under aug_smooth, the 6 augmented copies
// of each image and the method's own copies of each of them.
func (s Smoothed) Cost(g Geometry) Cost {
	c := costOf(s.Method, g)
	if !s.AugSmooth {
		return c
	}
	return Cost{Copies: augCopies * (1 + c.Copies), TailCopies: augCopies * c.TailCopies}
}

// wholeCopies is the number of copies of each image that run through the
// model in one piece, not in the chunks the budget splits copies into
// (budget.go): aug_smooth's augmented copies, whose activations and
// gradients the method reads whole.
func (s Smoothed) wholeCopies() int {
	if s.AugSmooth {
		return augCopies
	}
	return 0
}

// validate checks the smoothed method's own options and that it takes the
// smoothings asked for.
func (s Smoothed) validate() error {
	if s.Method == nil {
		return fmt.Errorf("explainer: Smoothed without a Method")
	}
	if _, nested := s.Method.(Smoothed); nested {
		return fmt.Errorf("explainer: %s: Smoothed of a Smoothed; set both options on one (Smooth)", s.Name())
	}
	if err := Validate(s.Method); err != nil {
		return err
	}
	for _, o := range []struct {
		on   bool
		name string
	}{{s.EigenSmooth, "eigen_smooth"}, {s.AugSmooth, "aug_smooth"}} {
		if !o.on {
			continue
		}
		if why := smoothRefusal(s.Method, specOf(s.Method), o.name); why != "" {
			return &OptionError{Method: s.Name(), Option: o.name, Value: "true", Want: "false: " + why}
		}
	}
	return nil
}

// smoothRefusal says why method m (registered as sp, nil for a method not
// registered) does not take the smoothing option named opt; "" if it does.
func smoothRefusal(m Method, sp *spec, opt string) string {
	switch {
	case isSigned(m):
		return m.Name() + " is a signed attribution, not a class-activation map"
	case sp != nil && sp.family == FamilyInput:
		return m.Name() + " attributes to input pixels through input gradients, not a class-activation map"
	case m.Needs().GuidedInputGrad:
		return m.Name() + " reads guided backpropagation's input gradient, which is not computed on augmented copies or as channel sums"
	}
	if _, ok := m.(ConceptMethod); ok {
		return m.Name() + " factorises the activations into several concept maps, not one weighted channel sum; smoothing applies to one map per image"
	}
	if opt != "eigen_smooth" {
		return ""
	}
	switch _, weights := m.(WeightMethod); {
	case sp != nil && sp.noEigenSmooth != "":
		return sp.noEigenSmooth
	case inputResolution(m):
		return m.Name() + " builds its map at the input's resolution, not as a sum over the layer's channels that a principal component could replace"
	case !weights:
		return m.Name() + " builds its own map, not weights on the layer's activations whose sum over channels a principal component could replace"
	}
	return ""
}

// setSmoothOption sets a smoothing option of spec "key=value" on m; ok is
// false when key is not a smoothing option.
func setSmoothOption(m Method, key, value string) (Method, bool, error) {
	i := slices.IndexFunc(smoothOptions, func(o Option) bool { return o.Name == key })
	if i < 0 {
		return m, false, nil
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		return m, true, fmt.Errorf("option %s=%q: want true or false", key, value)
	}
	s, _ := m.(Smoothed)
	if s.Method == nil {
		s.Method = m
	}
	if key == "eigen_smooth" {
		s.EigenSmooth = b
	} else {
		s.AugSmooth = b
	}
	return Smooth(s.Method, s.EigenSmooth, s.AugSmooth), true, nil
}

// smoothSettings are the smoothing options of m as "key=value", as Options
// lists a method's own.
func smoothSettings(s Smoothed) []string {
	return []string{"eigen_smooth=" + strconv.FormatBool(s.EigenSmooth), "aug_smooth=" + strconv.FormatBool(s.AugSmooth)}
}

// Build implements Method.
func (s Smoothed) Build(o *Ops, t Tensors) (tf.Output, error) {
	if !s.AugSmooth {
		return s.buildOnce(o, t)
	}
	c := t.Ctx
	// Copy-major: copy j of image i at row j·N+i; copies 0–2 as they are,
	// 3–5 flipped, each group times 0.9, 1, 1.1.
	flipped := op.ReverseV2(o.Scope(), c.Input, constant(o.s, []int32{2}))
	var copies []tf.Output
	for _, x := range []tf.Output{c.Input, flipped} {
		for _, f := range augScales {
			copies = append(copies, o.Mul(x, o.Const(f)))
		}
	}
	images := op.ConcatV2(o.Scope(), copies, constant(o.s, int32(0)))
	at, err := c.onCopies(o, images, c.Repeat(o, c.Targets, augCopies), s.Method.Needs())
	if err != nil {
		return tf.Output{}, err
	}
	at.Upsample = t.Upsample
	mp, err := s.buildOnce(o, at)
	if err != nil {
		return tf.Output{}, err
	}
	// Each copy's map as any map is: ReLU, input size, min–max.
	if !isSigned(s.Method) {
		mp = o.Relu(mp)
	}
	if !inputResolution(s.Method) {
		mp = t.Upsample(mp)
	}
	mp = o.g().MinMax(mp, normEps)
	// De-augment and average: the flipped copies' sum flipped back.
	groups := c.Split(o, mp, 2) // [2, 3·N, H, W]: unflipped, flipped
	half := func(j int32) tf.Output {
		g := op.Squeeze(o.Scope(), op.Slice(o.Scope(), groups, constant(o.s, []int32{j, 0, 0, 0}), constant(o.s, []int32{1, -1, -1, -1})), op.SqueezeAxis([]int64{0}))
		return op.Sum(o.Scope(), c.Split(o, g, len(augScales)), constant(o.s, int32(0))) // [N,H,W]
	}
	back := op.ReverseV2(o.Scope(), half(1), constant(o.s, []int32{2}))
	mean := o.Mul(o.Add(half(0), back), o.Const(1/float32(augCopies)))
	if err := o.s.Err(); err != nil {
		return tf.Output{}, fmt.Errorf("explainer: %s: aug_smooth: %w", s.Name(), err)
	}
	return mean, nil
}

// buildOnce builds the method, under eigen_smooth with its channel sum
// replaced by the first principal component of w⊙A (buildMap).
func (s Smoothed) buildOnce(o *Ops, t Tensors) (tf.Output, error) {
	mp, _, _, err := buildMap(s.Method, o, t, s.EigenSmooth)
	return mp, err
}
