package evaluate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/tfgraph"
)

// The sanity checks' verdict thresholds (SanitySummary). A method fails
// the parameter test when its maps correlate with the originals, on
// average over the cascade steps (Quantus' return_average_correlation,
// with steps spread evenly over the layers), by more than ParamsThreshold
// in |Spearman| of |maps|: the maps hardly depend on what the model learnt.
// Measured on EfficientNet-Lite0 (99 layers, 8 steps): Guided Backprop
// stays at 0.99–0.75 while the top half of the layers is randomised (mean
// 0.64, fails: Adebayo et al. 2018's classic failure), Grad-CAM drops to
// 0.11 at the first step (mean 0.01, passes). The value after the whole
// cascade alone does not separate them (0.04 and −0.16): permuting the
// first layers' weights changes even Guided Backprop's edge maps. A method
// fails the random-logit test when the SSIM of a random other class's map
// with the explained class's map exceeds LogitThreshold: the maps hardly
// depend on the class (Sixt et al. 2020).
const (
	ParamsThreshold = 0.5
	LogitThreshold  = 0.5
)

// ErrSanityArgs is wrapped by Sanity's errors for arguments that do not
// fit the model (image or class counts, map sizes).
var ErrSanityArgs = errors.New("sanity check arguments do not fit")

// SanityConfig chooses the sanity checks.
type SanityConfig struct {
	// Params runs the model-parameter randomisation test (Adebayo et al.
	// 2018): layers' weights are randomised cascading from the output
	// down, and each method's map after each step is compared with the
	// original.
	Params bool
	// Logit runs the random-logit test (Sixt et al. 2020): each image's
	// map of its explained class against the map of a random other class.
	Logit bool
	// Steps is the number of cascade steps, spread evenly over the layers
	// with weights from the top (step k randomises the top ⌈k·L/Steps⌉ of
	// L layers); 0 or at least L: one step per layer.
	Steps int
	// Seed seeds the permutations and the random classes.
	Seed uint64
}

// ParseSanity parses a comma-separated list of checks: params, logit, all
// or none (or empty: none).
func ParseSanity(s string) (params, logit bool, err error) {
	for _, f := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(f)) {
		case "", "none":
		case "params":
			params = true
		case "logit":
			logit = true
		case "all":
			params, logit = true, true
		default:
			return false, false, fmt.Errorf("evaluate: unknown sanity check %q (known: params, logit, all, none)", f)
		}
	}
	return params, logit, nil
}

// SanityExplainFunc explains the batch (the caller holds its images) for
// the given class of each image, with the model's weights replaced by
// weights (nil: the model's own; pass them to
// explainer.Explainer.ExplainWithWeights), and
// returns per method the n raw maps [n,H,W] concatenated, signed where the
// method is (explainer.Map.Raw).
type SanityExplainFunc func(ctx context.Context, weights map[tf.Output]tfgraph.Feed, classes []int) ([][]float32, error)

// SanityResult is one image's sanity checks for one method.
type SanityResult struct {
	// Spearman, SpearmanAbs and SSIM compare the map after each cascade
	// step with the original map: Spearman on the raw maps, on their
	// absolute values (Quantus' MPRT default), and SSIM of the flattened
	// absolute maps each divided by its maximum (Quantus' ssim with
	// abs=True, normalise_by_max). Nil without the parameter test.
	Spearman    []float64 `json:"spearman,omitempty"`
	SpearmanAbs []float64 `json:"spearman_abs,omitempty"`
	SSIM        []float64 `json:"ssim,omitempty"`
	// LogitClass is the random other class of the random-logit test and
	// LogitSSIM the SSIM of its map with the explained class's map
	// (flattened, each divided by its maximum |value|: Quantus'
	// RandomLogit defaults). Nil without the test.
	LogitClass *int     `json:"logit_class,omitempty"`
	LogitSSIM  *float64 `json:"logit_ssim,omitempty"`
}

// Sanity runs the sanity checks for one model. NewSanity reads the
// model's weights once and draws their permutations; Run explains each
// batch once per cascade step (plus once for the random logit) with the
// permuted weights fed, so the session's variables never change.
type Sanity struct {
	cfg     SanityConfig
	h, w    int
	classes int
	layers  []tfgraph.VariableLayer
	// cuts[k] is the number of layers (from the top) step k randomises;
	// feeds[k] its fed weights.
	cuts  []int
	feeds []map[tf.Output]tfgraph.Feed
}

// NewSanity prepares the checks of cfg for model, whose explained scores
// have classes columns. Each variable is randomised by a seeded
// permutation of all its values (the seed and the variable's name choose
// it): the weights keep their distribution and lose their structure.
// Quantus permutes TensorFlow weights along their first axis only, which
// leaves 1×1 convolution kernels unchanged; see the package doc.
func NewSanity(ctx context.Context, model *tfgraph.Model, classes int, cfg SanityConfig) (*Sanity, error) {
	if !cfg.Params && !cfg.Logit {
		return nil, fmt.Errorf("evaluate: no sanity check chosen (params, logit): %w", ErrSanityArgs)
	}
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("evaluate: %d sanity cascade steps; want 0 (every layer) or more: %w", cfg.Steps, ErrSanityArgs)
	}
	if cfg.Logit && classes < 2 {
		return nil, fmt.Errorf("evaluate: the random-logit test needs at least 2 classes; %s scores %d: %w", model.Dir, classes, ErrSanityArgs)
	}
	s := &Sanity{cfg: cfg, classes: classes}
	s.h, s.w, _ = model.InputSize()
	if !cfg.Params {
		return s, nil
	}
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	if s.layers, err = fw.VariableLayers(); err != nil {
		return nil, err
	}
	var reads []tf.Output
	for _, l := range s.layers {
		for _, v := range l.Variables {
			reads = append(reads, v.Reads[0])
		}
	}
	values, err := model.Run(ctx, nil, reads)
	if err != nil {
		return nil, fmt.Errorf("evaluate: reading the weights of %s: %w", model.Dir, err)
	}
	L := len(s.layers)
	steps := cfg.Steps
	if steps == 0 || steps > L {
		steps = L
	}
	for k := 1; k <= steps; k++ {
		s.cuts = append(s.cuts, (k*L+steps-1)/steps)
	}
	// Cascading: step k feeds the permuted weights of its layers and of
	// every step before it.
	feeds := map[tf.Output]tfgraph.Feed{}
	i, done := 0, 0
	for _, cut := range s.cuts {
		for ; done < cut; done++ {
			for _, v := range s.layers[done].Variables {
				f := tfgraph.Feed{F32: permute(values[i], cfg.Seed, v.Name), Shape: v.Shape}
				for _, r := range v.Reads {
					feeds[r] = f
				}
				i++
			}
		}
		step := make(map[tf.Output]tfgraph.Feed, len(feeds))
		for t, f := range feeds {
			step[t] = f
		}
		s.feeds = append(s.feeds, step)
	}
	return s, nil
}

// permute returns a seeded permutation of x's values.
func permute(x []float32, seed uint64, name string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	out := make([]float32, len(x))
	for i, j := range rng.Perm(len(x)) {
		out[i] = x[j]
	}
	return out
}

// Layers are the layers with weights, top first: the cascade's order.
func (s *Sanity) Layers() []string {
	var out []string
	for _, l := range s.layers {
		out = append(out, l.Name)
	}
	return out
}

// Cuts is the number of layers randomised after each cascade step.
func (s *Sanity) Cuts() []int { return append([]int(nil), s.cuts...) }

// Config is the configuration in use.
func (s *Sanity) Config() SanityConfig { return s.cfg }

// Run checks n images: pixels [n,H,W,C] as explained (only hashed, to
// draw each image's random class independently of its batch), classes
// their explained classes, orig per method the n raw maps [n,H,W] of the
// model's own weights. It returns results[method][image].
func (s *Sanity) Run(ctx context.Context, pixels []float32, classes []int, orig [][]float32, explain SanityExplainFunc) ([][]SanityResult, error) {
	n, hw := len(classes), s.h*s.w
	if n == 0 || len(pixels)%n != 0 {
		return nil, fmt.Errorf("evaluate: %d pixel values for %d images: %w", len(pixels), n, ErrSanityArgs)
	}
	for j, m := range orig {
		if len(m) != n*hw {
			return nil, fmt.Errorf("evaluate: method %d has %d map values for %d maps of %dx%d: %w", j, len(m), n, s.h, s.w, ErrSanityArgs)
		}
	}
	for i, c := range classes {
		if c < 0 || c >= s.classes {
			return nil, fmt.Errorf("evaluate: class %d of image %d is out of range [0, %d): %w", c, i, s.classes, ErrSanityArgs)
		}
	}
	out := make([][]SanityResult, len(orig))
	for j := range out {
		out[j] = make([]SanityResult, n)
	}
	at := func(m []float32, i int) []float64 {
		v := make([]float64, hw)
		for p := range v {
			v[p] = float64(m[i*hw+p])
		}
		return v
	}
	maps := func(weights map[tf.Output]tfgraph.Feed, cls []int) ([][]float32, error) {
		got, err := explain(ctx, weights, cls)
		if err == nil && len(got) != len(orig) {
			err = fmt.Errorf("evaluate: explain returned maps of %d methods, the originals have %d: %w", len(got), len(orig), ErrSanityArgs)
		}
		return got, err
	}
	for k := range s.feeds {
		got, err := maps(s.feeds[k], classes)
		if err != nil {
			return nil, fmt.Errorf("evaluate: sanity cascade step %d (%d layers randomised): %w", k+1, s.cuts[k], err)
		}
		for j := range orig {
			for i := 0; i < n; i++ {
				a, b := at(orig[j], i), at(got[j], i)
				r := &out[j][i]
				r.Spearman = append(r.Spearman, Spearman(a, b))
				r.SpearmanAbs = append(r.SpearmanAbs, SpearmanAbs(a, b))
				ss, err := SSIM(NormaliseByMax(absAll(a)), NormaliseByMax(absAll(b)), hw)
				if err != nil {
					return nil, err
				}
				r.SSIM = append(r.SSIM, ss)
			}
		}
	}
	if s.cfg.Logit {
		chw := len(pixels) / n
		off := make([]int, n)
		for i := range off {
			off[i] = s.otherClass(pixels[i*chw:(i+1)*chw], classes[i])
		}
		got, err := maps(nil, off)
		if err != nil {
			return nil, fmt.Errorf("evaluate: random-logit maps: %w", err)
		}
		for j := range orig {
			for i := 0; i < n; i++ {
				ss, err := SSIM(NormaliseByMax(at(orig[j], i)), NormaliseByMax(at(got[j], i)), hw)
				if err != nil {
					return nil, err
				}
				c := off[i]
				out[j][i].LogitClass, out[j][i].LogitSSIM = &c, &ss
			}
		}
	}
	return out, nil
}

// otherClass draws a class other than c, uniformly, seeded by the seed and
// the image's pixels.
func (s *Sanity) otherClass(pixels []float32, c int) int {
	h := fnv.New64a()
	var b [4]byte
	for _, v := range pixels {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	o := rand.New(rand.NewPCG(s.cfg.Seed, h.Sum64())).IntN(s.classes - 1)
	if o >= c {
		o++
	}
	return o
}

// SanitySummary is one method's sanity checks over the images.
type SanitySummary struct {
	// Spearman, SpearmanAbs and SSIM are the means over the images after
	// each cascade step (nil without the parameter test).
	Spearman    []float64 `json:"spearman,omitempty"`
	SpearmanAbs []float64 `json:"spearman_abs,omitempty"`
	SSIM        []float64 `json:"ssim,omitempty"`
	// LogitSSIM is the mean random-logit SSIM (nil without the test).
	LogitSSIM *float64 `json:"logit_ssim,omitempty"`
	// SpearmanAbsMean is SpearmanAbs averaged over the steps.
	SpearmanAbsMean *float64 `json:"spearman_abs_mean,omitempty"`
	// FailsParams: SpearmanAbsMean exceeds ParamsThreshold. FailsLogit: LogitSSIM exceeds LogitThreshold. Nil
	// when the test did not run.
	FailsParams *bool `json:"fails_params,omitempty"`
	FailsLogit  *bool `json:"fails_logit,omitempty"`
}

// SummarizeSanity averages method's sanity results; nil when none ran.
func SummarizeSanity(method string, results []ImageResult) *SanitySummary {
	var s SanitySummary
	var logit float64
	nParams, nLogit := 0, 0
	for _, r := range results {
		if r.Method != method || r.Sanity == nil {
			continue
		}
		if steps := len(r.Sanity.SpearmanAbs); steps > 0 {
			if s.SpearmanAbs == nil {
				s.Spearman, s.SpearmanAbs, s.SSIM = make([]float64, steps), make([]float64, steps), make([]float64, steps)
			}
			for k := range steps {
				s.Spearman[k] += r.Sanity.Spearman[k]
				s.SpearmanAbs[k] += r.Sanity.SpearmanAbs[k]
				s.SSIM[k] += r.Sanity.SSIM[k]
			}
			nParams++
		}
		if r.Sanity.LogitSSIM != nil {
			logit += *r.Sanity.LogitSSIM
			nLogit++
		}
	}
	if nParams == 0 && nLogit == 0 {
		return nil
	}
	if nParams > 0 {
		for k := range s.SpearmanAbs {
			s.Spearman[k] /= float64(nParams)
			s.SpearmanAbs[k] /= float64(nParams)
			s.SSIM[k] /= float64(nParams)
		}
		var mean float64
		for _, v := range s.SpearmanAbs {
			mean += v
		}
		mean /= float64(len(s.SpearmanAbs))
		fails := mean > ParamsThreshold
		s.SpearmanAbsMean, s.FailsParams = &mean, &fails
	}
	if nLogit > 0 {
		logit /= float64(nLogit)
		fails := logit > LogitThreshold
		s.LogitSSIM, s.FailsLogit = &logit, &fails
	}
	return &s
}

// Verdict is "pass", "FAILS params", "FAILS logit", "FAILS params+logit",
// or "-" when no sanity check ran.
func (s *SanitySummary) Verdict() string {
	if s == nil {
		return "-"
	}
	var failed []string
	if s.FailsParams != nil && *s.FailsParams {
		failed = append(failed, "params")
	}
	if s.FailsLogit != nil && *s.FailsLogit {
		failed = append(failed, "logit")
	}
	if len(failed) == 0 {
		return "pass"
	}
	return "FAILS " + strings.Join(failed, "+")
}

// Flags are plain-language reasons not to trust the method, one per
// failed check (Summary.Flags).
func (s *SanitySummary) Flags() []string {
	if s == nil {
		return nil
	}
	var out []string
	if s.FailsParams != nil && *s.FailsParams {
		out = append(out, fmt.Sprintf("fails the model-parameter randomisation check: as the layers' weights are randomised from the top, its maps still correlate %.2f on average (Spearman of |maps|) with the originals (threshold %.2f), so they show the image more than what the model learnt",
			*s.SpearmanAbsMean, ParamsThreshold))
	}
	if s.FailsLogit != nil && *s.FailsLogit {
		out = append(out, fmt.Sprintf("fails the random-logit check: maps of a random other class have SSIM %.2f with the explained class's maps (threshold %.2f), so they hardly depend on the class",
			*s.LogitSSIM, LogitThreshold))
	}
	return out
}
