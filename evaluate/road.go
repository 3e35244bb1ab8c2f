package evaluate

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/tfcam/tfcam/internal/graphops"
	"github.com/tfcam/tfcam/tfgraph"
)

// ROAD, RemOve And Debias (Rong et al. 2022, "A Consistent and Efficient
// Evaluation Strategy for Attribution Methods"): at each percentage p the
// ⌊h·w·p/100⌋ most relevant pixels (MoRF) or least relevant pixels (LeRF),
// all channels at once, are removed and filled by noisy linear imputation
// (impute.go), so that the filled image carries no trace of which pixels
// were removed; the model's probability of the explained class and whether
// it is still the top class are recorded. Pixels rank as in Deletion (map
// descending, equal values by lower index first); LeRF removes the last
// pixels of that order. A faithful map makes the MoRF curve fall fast
// (lower AUC is better) and the LeRF curve stay high (higher is better).
// Quantus' ROAD is the MoRF accuracy curve of this, at its percentages.

// DefaultROADPercentages are the percentages of pixels removed when
// ROADConfig.Percentages is empty: 10, 20, …, 90, as in the ROAD paper's
// plots.
var DefaultROADPercentages = []float64{10, 20, 30, 40, 50, 60, 70, 80, 90}

// DefaultROADNoise is the paper's and Quantus' noise: the standard
// deviation, in the model's input units, of the Gaussian noise added to
// each imputed value.
const DefaultROADNoise = 0.01

// ROADConfig chooses how ROAD removes pixels.
type ROADConfig struct {
	// Percentages of pixels removed, each in (0, 100), ascending (default
	// DefaultROADPercentages).
	Percentages []float64
	// Noise is the standard deviation of the noise added to each imputed
	// value, in input units; 0 adds none (DefaultROADNoise is the paper's).
	Noise float64
	// Seed seeds the noise. Each image's noise also depends on its pixels,
	// map and class, never on its position in a batch.
	Seed uint64
	// RunImages caps the imputed images per Session.Run (default 128).
	RunImages int
}

// ROADResult is one image's ROAD curves for one map, at the configured
// percentages.
type ROADResult struct {
	// Class is the explained class.
	Class int `json:"class"`
	// MoRF and LeRF are the probabilities of Class after removing the most
	// or least relevant pixels.
	MoRF []float64 `json:"morf"`
	LeRF []float64 `json:"lerf"`
	// MoRFTop and LeRFTop say whether Class is still the model's top class
	// (the paper's and Quantus' accuracy).
	MoRFTop []bool `json:"morf_top"`
	LeRFTop []bool `json:"lerf_top"`
}

// ROAD runs the ROAD metric for one model. Not safe for concurrent use.
type ROAD struct {
	model   *tfgraph.Model
	cfg     ROADConfig
	h, w, c int
	classes int
	x       tf.Output // the model's input, fed with imputed images
	probs   tf.Output // [N, classes] probabilities
}

// NewROAD builds ROAD's scoring graph (the probabilities of the model's
// inlined forward pass, shared with any explainer or Evaluator).
func NewROAD(model *tfgraph.Model, cfg ROADConfig) (*ROAD, error) {
	if len(cfg.Percentages) == 0 {
		cfg.Percentages = slices.Clone(DefaultROADPercentages)
	}
	if cfg.RunImages == 0 {
		cfg.RunImages = 128
	}
	for i, p := range cfg.Percentages {
		if !(p > 0 && p < 100) || (i > 0 && p <= cfg.Percentages[i-1]) {
			return nil, fmt.Errorf("evaluate: ROAD percentages %v: want ascending values in (0, 100)", cfg.Percentages)
		}
	}
	if !(cfg.Noise >= 0 && cfg.Noise < math.Inf(1)) || cfg.RunImages < 1 {
		return nil, fmt.Errorf("evaluate: ROAD needs a finite noise >= 0 (have %g) and images per run >= 1 (have %d)", cfg.Noise, cfg.RunImages)
	}
	h, w, c := model.InputSize()
	if h <= 0 || w <= 0 || c <= 0 {
		return nil, fmt.Errorf("evaluate: %s has input %v; need a fixed [N,H,W,C] image input", model.Dir, model.Input.Shape)
	}
	fw, err := model.Inline()
	if err != nil {
		return nil, err
	}
	r := &ROAD{model: model, cfg: cfg, h: h, w: w, c: c, x: fw.Input}
	if _, r.classes, err = fw.Scores(tfgraph.Probabilities); err != nil {
		return nil, err
	}
	g := graphops.New(op.NewScopeWithGraph(model.Graph).SubScope(fmt.Sprintf("tfcam_road_%d", evaluatorCount.Add(1))))
	r.probs = probabilities(g, fw, fw.Output)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: building ROAD's scores: %w", err)
	}
	return r, nil
}

// Config is the configuration in use, defaults filled in.
func (r *ROAD) Config() ROADConfig { return r.cfg }

// ROADCounts is the number of pixels removed at each percentage of hw
// pixels: ⌊hw·p/100⌋, as Quantus counts.
func ROADCounts(hw int, percentages []float64) []int {
	out := make([]int, len(percentages))
	for i, p := range percentages {
		out[i] = int(float64(hw) * p / 100)
	}
	return out
}

// Run computes ROAD for n images, one map each: pixels [n,H,W,C]
// preprocessed as the model expects, maps [n,H,W] (only their order
// matters), classes the explained class of each image. The imputations run
// on all CPUs; the imputed images are scored in runs of RunImages.
func (r *ROAD) Run(ctx context.Context, pixels, maps []float32, classes []int) ([]ROADResult, error) {
	if err := checkRunArgs(r.h, r.w, r.c, r.classes, pixels, maps, classes); err != nil {
		return nil, err
	}
	n := len(classes)
	hw, chw := r.h*r.w, r.h*r.w*r.c
	np := len(r.cfg.Percentages)
	out := make([]ROADResult, n)
	for i := range out {
		out[i] = ROADResult{Class: classes[i], MoRF: make([]float64, np), LeRF: make([]float64, np),
			MoRFTop: make([]bool, np), LeRFTop: make([]bool, np)}
	}
	perImage := 2 * np // rows: MoRF at each percentage, then LeRF
	perRun := max(1, r.cfg.RunImages/perImage)
	for i0 := 0; i0 < n; i0 += perRun {
		i1 := min(n, i0+perRun)
		rows, err := r.imputeAll(ctx, pixels[i0*chw:i1*chw], maps[i0*hw:i1*hw], classes[i0:i1])
		if err != nil {
			return nil, err
		}
		// Score in runs of at most RunImages rows.
		for s0 := 0; s0 < len(rows); s0 += r.cfg.RunImages {
			s1 := min(len(rows), s0+r.cfg.RunImages)
			batch := make([]float32, 0, (s1-s0)*chw)
			for _, row := range rows[s0:s1] {
				batch = append(batch, row...)
			}
			res, err := r.model.Run(ctx, map[tf.Output]tfgraph.Feed{
				r.x: {F32: r.model.RoundPixels(batch), Shape: []int64{int64(s1 - s0), int64(r.h), int64(r.w), int64(r.c)}},
			}, []tf.Output{r.probs})
			if err != nil {
				return nil, fmt.Errorf("evaluate: ROAD: %w", err)
			}
			for k := s0; k < s1; k++ {
				img, j := i0+k/perImage, k%perImage
				p := res[0][(k-s0)*r.classes : (k-s0+1)*r.classes]
				prob, top := float64(p[classes[img]]), argmax(p) == classes[img]
				if j < np {
					out[img].MoRF[j], out[img].MoRFTop[j] = prob, top
				} else {
					out[img].LeRF[j-np], out[img].LeRFTop[j-np] = prob, top
				}
			}
		}
	}
	return out, nil
}

// imputeAll returns the imputed images of each image: MoRF at every
// percentage, then LeRF, in parallel over all CPUs.
func (r *ROAD) imputeAll(ctx context.Context, pixels, maps []float32, classes []int) ([][]float32, error) {
	hw, chw := r.h*r.w, r.h*r.w*r.c
	np := len(r.cfg.Percentages)
	counts := ROADCounts(hw, r.cfg.Percentages)
	rows := make([][]float32, len(classes)*2*np)
	orders := make([][]int, len(classes))
	for i := range classes {
		orders[i] = rankOrder(maps[i*hw : (i+1)*hw])
	}
	jobs := make(chan int)
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				if err := ctx.Err(); err != nil {
					errs[k] = err
					continue
				}
				i, j := k/(2*np), k%(2*np)
				lerf, pi := j >= np, j%np
				removed := make([]bool, hw)
				order := orders[i]
				if lerf {
					order = order[hw-counts[pi]:]
				} else {
					order = order[:counts[pi]]
				}
				for _, p := range order {
					removed[p] = true
				}
				img := pixels[i*chw : (i+1)*chw]
				rng := rand.New(rand.NewPCG(r.cfg.Seed, imageKey(img, maps[i*hw:(i+1)*hw], classes[i])^uint64(j)))
				rows[k], errs[k] = impute(img, r.h, r.w, r.c, removed, r.cfg.Noise, rng)
			}
		}()
	}
	for k := range rows {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// rankOrder is the pixels in descending map order, equal values by lower
// index first: the order in which Deletion and ROAD's MoRF remove them.
func rankOrder(m []float32) []int {
	order := make([]int, len(m))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case m[a] > m[b]:
			return -1
		case m[a] < m[b]:
			return 1
		}
		return 0
	})
	return order
}

// imageKey hashes an image's pixels, map and class: its noise stream.
func imageKey(img, m []float32, class int) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, s := range [][]float32{img, m} {
		for _, v := range s {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	binary.LittleEndian.PutUint32(b[:], uint32(class))
	h.Write(b[:])
	return h.Sum64()
}

// argmax is the index of the largest value, the first among equals.
func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// ROADAUC is the area under a ROAD curve over the removed fraction p/100,
// by trapezoids, divided by the span of the fractions: the curve's mean
// height (for evenly spaced percentages, AUC's formula).
func ROADAUC(percentages, curve []float64) float64 {
	if len(curve) < 2 || len(curve) != len(percentages) {
		if len(curve) == 1 {
			return curve[0]
		}
		return 0
	}
	var sum float64
	for k := 1; k < len(curve); k++ {
		sum += (percentages[k] - percentages[k-1]) * (curve[k-1] + curve[k]) / 2
	}
	return sum / (percentages[len(percentages)-1] - percentages[0])
}

// ROADSummary is one method's ROAD over a set of images: the mean curves at
// the percentages and their ROADAUC.
type ROADSummary struct {
	// MoRFAUC (lower is better) and LeRFAUC (higher is better) are the AUCs
	// of the mean probability curves MoRF and LeRF.
	MoRFAUC float64 `json:"morf_auc"`
	LeRFAUC float64 `json:"lerf_auc"`
	// MoRFAccuracyAUC and LeRFAccuracyAUC are the AUCs of the accuracy
	// curves: the share of images whose explained class stays on top.
	MoRFAccuracyAUC float64   `json:"morf_accuracy_auc"`
	LeRFAccuracyAUC float64   `json:"lerf_accuracy_auc"`
	MoRF            []float64 `json:"morf"`
	LeRF            []float64 `json:"lerf"`
	MoRFAccuracy    []float64 `json:"morf_accuracy"`
	LeRFAccuracy    []float64 `json:"lerf_accuracy"`
}

// SummarizeROAD averages method's ROAD results at percentages; nil when
// none of its results has ROAD.
func SummarizeROAD(percentages []float64, method string, results []ImageResult) *ROADSummary {
	np := len(percentages)
	s := &ROADSummary{MoRF: make([]float64, np), LeRF: make([]float64, np), MoRFAccuracy: make([]float64, np), LeRFAccuracy: make([]float64, np)}
	n := 0
	for _, r := range results {
		if r.Method != method || r.ROAD == nil || len(r.ROAD.MoRF) != np {
			continue
		}
		n++
		for k := range np {
			s.MoRF[k] += r.ROAD.MoRF[k]
			s.LeRF[k] += r.ROAD.LeRF[k]
			s.MoRFAccuracy[k] += b2f(r.ROAD.MoRFTop[k])
			s.LeRFAccuracy[k] += b2f(r.ROAD.LeRFTop[k])
		}
	}
	if n == 0 {
		return nil
	}
	for _, c := range [][]float64{s.MoRF, s.LeRF, s.MoRFAccuracy, s.LeRFAccuracy} {
		for k := range c {
			c[k] /= float64(n)
		}
	}
	s.MoRFAUC, s.LeRFAUC = ROADAUC(percentages, s.MoRF), ROADAUC(percentages, s.LeRF)
	s.MoRFAccuracyAUC, s.LeRFAccuracyAUC = ROADAUC(percentages, s.MoRFAccuracy), ROADAUC(percentages, s.LeRFAccuracy)
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
