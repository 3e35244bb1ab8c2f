package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// ImageResult is one image's metrics for one method.
type ImageResult struct {
	Image  string `json:"image"`
	Method string `json:"method"`
	Faithfulness
	// Pointing is nil when the image has no boxes.
	Pointing *Pointing `json:"pointing,omitempty"`
	// Sparseness and Complexity describe the map itself (see Sparseness,
	// Complexity).
	Sparseness float64 `json:"sparseness"`
	Complexity float64 `json:"complexity"`
	// ROAD is nil when ROAD was not run.
	ROAD *ROADResult `json:"road,omitempty"`
	// MaxSensitivity is nil when it was not run or the map is all zeros.
	MaxSensitivity *float64 `json:"max_sensitivity,omitempty"`
	// Sanity is nil when no sanity check was run.
	Sanity *SanityResult `json:"sanity,omitempty"`
}

// Summary is one method's metrics over a set of images.
type Summary struct {
	Method string `json:"method"`
	// Images is the number of images; Boxed those with boxes, over which
	// the pointing metrics are averaged.
	Images int `json:"images"`
	Boxed  int `json:"boxed_images"`
	// PointingGame is the % of boxed images hit; EnergyPointingGame the mean
	// % of map energy inside the boxes. Both are nil without boxes.
	PointingGame       *float64 `json:"pointing_game_pct"`
	EnergyPointingGame *float64 `json:"energy_pointing_game_pct"`
	// AverageDrop and IncreaseInConfidence are in %.
	AverageDrop          float64 `json:"average_drop_pct"`
	IncreaseInConfidence float64 `json:"increase_in_confidence_pct"`
	// DeletionAUC and InsertionAUC are the AUCs of the mean curves.
	DeletionAUC  float64 `json:"deletion_auc"`
	InsertionAUC float64 `json:"insertion_auc"`
	// Sparseness (Gini index) and Complexity (entropy, nats) are means
	// over the images.
	Sparseness float64 `json:"sparseness"`
	Complexity float64 `json:"complexity"`
	// Deletion and Insertion are the mean curves, at Fractions(Steps).
	Deletion  []float64 `json:"deletion"`
	Insertion []float64 `json:"insertion"`
	// ROAD is nil when ROAD was not run (see SummarizeROAD).
	ROAD *ROADSummary `json:"road,omitempty"`
	// MaxSensitivity is the mean over the images that have one; nil when
	// none has.
	MaxSensitivity *float64 `json:"max_sensitivity,omitempty"`
	// Sanity is nil when no sanity check was run (see SummarizeSanity).
	Sanity *SanitySummary `json:"sanity,omitempty"`
	// Passes is the method's forward passes per image: the one all
	// methods share plus its own copies of the image (explainer.Cost);
	// 0 when unknown. The command fills it in.
	Passes int `json:"forward_passes_per_image,omitempty"`
	// Flags are the sanity checks the method failed, each in plain
	// language ("its maps barely change when the model's weights are
	// randomised"); empty when there are none. Recommend never
	// recommends a flagged method.
	Flags []string `json:"flags,omitempty"`
}

// Summarize aggregates results per method, in the order of methods.
func Summarize(methods []string, results []ImageResult) []Summary {
	var out []Summary
	for _, m := range methods {
		s := Summary{Method: m}
		var faith []Faithfulness
		var hits, energy, sens float64
		nSens := 0
		for _, r := range results {
			if r.Method != m {
				continue
			}
			s.Images++
			if r.MaxSensitivity != nil {
				sens += *r.MaxSensitivity
				nSens++
			}
			faith = append(faith, r.Faithfulness)
			s.Sparseness += r.Sparseness
			s.Complexity += r.Complexity
			if s.Deletion == nil {
				s.Deletion, s.Insertion = make([]float64, len(r.Deletion)), make([]float64, len(r.Insertion))
			}
			for k := range s.Deletion {
				s.Deletion[k] += r.Deletion[k]
				s.Insertion[k] += r.Insertion[k]
			}
			if r.Pointing != nil {
				s.Boxed++
				energy += r.Pointing.Energy
				if r.Pointing.Hit {
					hits++
				}
			}
		}
		for k := range s.Deletion {
			s.Deletion[k] /= float64(s.Images)
			s.Insertion[k] /= float64(s.Images)
		}
		if s.Images > 0 {
			s.Sparseness /= float64(s.Images)
			s.Complexity /= float64(s.Images)
		}
		if nSens > 0 {
			sens /= float64(nSens)
			s.MaxSensitivity = &sens
		}
		if s.Boxed > 0 {
			pg, epg := 100*hits/float64(s.Boxed), 100*energy/float64(s.Boxed)
			s.PointingGame, s.EnergyPointingGame = &pg, &epg
		}
		s.AverageDrop, s.IncreaseInConfidence = AverageDrop(faith), IncreaseInConfidence(faith)
		s.DeletionAUC, s.InsertionAUC = AUC(s.Deletion), AUC(s.Insertion)
		s.Sanity = SummarizeSanity(m, results)
		s.Flags = s.Sanity.Flags()
		out = append(out, s)
	}
	return out
}

// Settings describe how a report was computed.
type Settings struct {
	Model     string  `json:"model"`
	Layer     string  `json:"layer"`
	Class     string  `json:"class"`
	Steps     int     `json:"steps"`
	Baseline  string  `json:"baseline"`
	BlurSigma float64 `json:"blur_sigma_px,omitempty"`
	// Tolerance is the pointing game's, in map pixels.
	Tolerance float64 `json:"tolerance_px"`
	Boxes     string  `json:"boxes,omitempty"`
	// ROADPercentages and ROADNoise are ROAD's settings; no percentages
	// when ROAD was not run.
	ROADPercentages []float64 `json:"road_percentages,omitempty"`
	ROADNoise       float64   `json:"road_noise,omitempty"`
	// SensitivitySamples and SensitivityRadius are max-sensitivity's; 0
	// when it was not run.
	SensitivitySamples int     `json:"sensitivity_samples,omitempty"`
	SensitivityRadius  float64 `json:"sensitivity_radius,omitempty"`
	// Seed seeds ROAD's and max-sensitivity's noise.
	Seed uint64 `json:"seed,omitempty"`
	// MethodSpec is --method as given, with any method options
	// ("integrated-gradients:steps=64").
	MethodSpec string `json:"method_spec,omitempty"`
	// SanityLayers are the layers with weights in cascade order (top
	// first) and SanityCuts how many of them each cascade step had
	// randomised; both empty without the parameter test. Seed seeds the
	// permutations and the random-logit classes too.
	SanityLayers []string `json:"sanity_layers,omitempty"`
	SanityCuts   []int    `json:"sanity_cuts,omitempty"`
	// SanityImages is how many images (the first, in input order) the
	// sanity checks ran on; 0 without them.
	SanityImages int `json:"sanity_images,omitempty"`
	// Target is --target as the explainer spells it ("" or "class": the
	// class scores). For any other target the perturbation metrics are
	// not run (see the package doc).
	Target string `json:"target,omitempty"`
}

// Report is everything `tfcam eval` writes.
type Report struct {
	Settings  Settings      `json:"settings"`
	Fractions []float64     `json:"fractions"`
	Counts    []int         `json:"pixels"`
	Methods   []Summary     `json:"methods"`
	Images    []ImageResult `json:"images"`
}

// metric is one of the summary's metrics, as the table, CSV, bar chart
// and ranking show it.
type metric struct {
	// name is the CSV/JSON name, head the table header, title the chart's.
	name, head, title string
	higher            bool
	// top is the chart's top (0: automatic).
	top float64
	// mean: the metric counts towards the mean rank (see Rank).
	mean bool
	// value is the method's value, nil when not measured.
	value func(Summary) *float64
}

// perturbed returns the value of a model-run metric, nil when the
// perturbation metrics were not run (no deletion curve: a non-class target).
func perturbed(f func(s *Summary) *float64) func(Summary) *float64 {
	return func(s Summary) *float64 {
		if len(s.Deletion) == 0 {
			return nil
		}
		return f(&s)
	}
}

// columns are the summary's metrics in table order.
var columns = []metric{
	{"pointing_game_pct", "pointing %↑", "Pointing game % (higher is better)", true, 100, true, func(s Summary) *float64 { return s.PointingGame }},
	{"energy_pointing_game_pct", "energy %↑", "Energy pointing game % (higher is better)", true, 100, true, func(s Summary) *float64 { return s.EnergyPointingGame }},
	{"average_drop_pct", "avg drop %↓", "Average Drop % (lower is better)", false, 100, true, perturbed(func(s *Summary) *float64 { return &s.AverageDrop })},
	{"increase_in_confidence_pct", "incr conf %↑", "Increase in Confidence % (higher is better)", true, 100, true, perturbed(func(s *Summary) *float64 { return &s.IncreaseInConfidence })},
	{"deletion_auc", "deletion AUC↓", "Deletion AUC (lower is better)", false, 1, true, perturbed(func(s *Summary) *float64 { return &s.DeletionAUC })},
	{"insertion_auc", "insertion AUC↑", "Insertion AUC (higher is better)", true, 1, true, perturbed(func(s *Summary) *float64 { return &s.InsertionAUC })},
	{"sparseness", "sparseness↑", "Sparseness, Gini index (higher: fewer pixels)", true, 1, false, func(s Summary) *float64 { return &s.Sparseness }},
	{"complexity", "complexity↓", "Complexity, entropy in nats (lower: simpler)", false, 0, false, func(s Summary) *float64 { return &s.Complexity }},
	{"max_sensitivity", "max sens↓", "Max-sensitivity (lower is better)", false, 0, true, func(s Summary) *float64 { return s.MaxSensitivity }},
	{"road_morf_auc", "ROAD MoRF↓", "ROAD MoRF AUC, probability (lower is better)", false, 1, true, func(s Summary) *float64 {
		if s.ROAD == nil {
			return nil
		}
		return &s.ROAD.MoRFAUC
	}},
	{"road_lerf_auc", "ROAD LeRF↑", "ROAD LeRF AUC, probability (higher is better)", true, 1, true, func(s Summary) *float64 {
		if s.ROAD == nil {
			return nil
		}
		return &s.ROAD.LeRFAUC
	}},
}

// WriteTable prints the summary as an aligned text table, arrows saying
// which direction is better.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "method\timages")
	for _, c := range columns {
		fmt.Fprint(tw, "\t"+c.head)
	}
	sanity := r.hasSanity()
	if sanity {
		fmt.Fprint(tw, "\tsanity |ρ|↓\tlogit SSIM↓\tsanity")
	}
	fmt.Fprint(tw, "\t\n")
	for _, s := range r.Methods {
		fmt.Fprintf(tw, "%s\t%d", s.Method, s.Images)
		for _, c := range columns {
			v := c.value(s)
			switch {
			case v == nil:
				fmt.Fprint(tw, "\t-")
			case c.top == 100:
				fmt.Fprintf(tw, "\t%.1f", *v)
			default:
				fmt.Fprintf(tw, "\t%.4f", *v)
			}
		}
		if sanity {
			for _, v := range sanityValues(s) {
				if v == nil {
					fmt.Fprint(tw, "\t-")
				} else {
					fmt.Fprintf(tw, "\t%.3f", *v)
				}
			}
			fmt.Fprint(tw, "\t"+s.Sanity.Verdict())
		}
		fmt.Fprint(tw, "\t\n")
	}
	return tw.Flush()
}

// WriteCSV writes one row per method: method, images, boxed_images, the
// metrics, then the sanity checks' numbers (mean |Spearman| over the
// cascade steps, mean random-logit SSIM) and verdict; empty when not
// measured.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"method", "images", "boxed_images"}
	for _, c := range columns {
		header = append(header, c.name)
	}
	header = append(header, "sanity_params_spearman_abs_mean", "sanity_logit_ssim", "sanity_verdict")
	cw.Write(header)
	for _, s := range r.Methods {
		row := []string{s.Method, strconv.Itoa(s.Images), strconv.Itoa(s.Boxed)}
		for _, c := range columns {
			if v := c.value(s); v != nil {
				row = append(row, strconv.FormatFloat(*v, 'g', 8, 64))
			} else {
				row = append(row, "")
			}
		}
		for _, v := range sanityValues(s) {
			if v != nil {
				row = append(row, strconv.FormatFloat(*v, 'g', 8, 64))
			} else {
				row = append(row, "")
			}
		}
		verdict := s.Sanity.Verdict()
		if verdict == "-" {
			verdict = ""
		}
		cw.Write(append(row, verdict))
	}
	cw.Flush()
	return cw.Error()
}

// WriteCurvesCSV writes the mean curves in long form: method, curve
// (deletion, insertion, and with ROAD road_morf, road_lerf,
// road_morf_accuracy, road_lerf_accuracy), step, fraction, pixels,
// probability (for the accuracy curves the share of images whose class
// stays on top).
func (r *Report) WriteCurvesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"method", "curve", "step", "fraction", "pixels", "probability"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	var roadFractions []float64
	var roadCounts []int
	if len(r.Counts) > 0 {
		roadCounts = ROADCounts(r.Counts[len(r.Counts)-1], r.Settings.ROADPercentages)
	}
	for _, p := range r.Settings.ROADPercentages {
		roadFractions = append(roadFractions, p/100)
	}
	for _, s := range r.Methods {
		type curve struct {
			name      string
			v         []float64
			fractions []float64
			counts    []int
		}
		curves := []curve{{"deletion", s.Deletion, r.Fractions, r.Counts}, {"insertion", s.Insertion, r.Fractions, r.Counts}}
		if s.ROAD != nil {
			curves = append(curves, curve{"road_morf", s.ROAD.MoRF, roadFractions, roadCounts}, curve{"road_lerf", s.ROAD.LeRF, roadFractions, roadCounts},
				curve{"road_morf_accuracy", s.ROAD.MoRFAccuracy, roadFractions, roadCounts}, curve{"road_lerf_accuracy", s.ROAD.LeRFAccuracy, roadFractions, roadCounts})
		}
		for _, c := range curves {
			for k, v := range c.v {
				if k >= len(c.fractions) || k >= len(c.counts) {
					return fmt.Errorf("evaluate: %s's %s curve has %d points for %d steps", s.Method, c.name, len(c.v), len(c.fractions))
				}
				cw.Write([]string{s.Method, c.name, strconv.Itoa(k), f(c.fractions[k]), strconv.Itoa(c.counts[k]), f(v)})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole report: settings, summaries with their curves
// and every image's results.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// hasSanity reports whether any method has sanity results.
func (r *Report) hasSanity() bool {
	for _, s := range r.Methods {
		if s.Sanity != nil {
			return true
		}
	}
	return false
}

// sanityValues are a summary's sanity numbers as the table and CSV show
// them: mean |Spearman| over the cascade steps, mean random-logit SSIM
// (nil: not measured).
func sanityValues(s Summary) []*float64 {
	out := make([]*float64, 2)
	if s.Sanity == nil {
		return out
	}
	out[0] = s.Sanity.SpearmanAbsMean
	out[1] = s.Sanity.LogitSSIM
	return out
}
