package evaluate

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/internal/npy"
)

// untie turns each of the n maps in m (hw values each) into a map without
// ties that keeps the order of m up to a 1/1024 quantisation: the code of
// pixel p is round(1024·m_p)·hw + (hw−1−p), so equal quantised values rank
// by pixel index (lower first, tfcam's own rule), then exactly min–max
// scaled to [0,1]. Xplique ranks with np.argsort, whose order among ties is
// unspecified; without ties both libraries must flip the same pixels. The
// codes are integers below 2^23 and stay distinct in float32 after scaling.
func untie(m []float32, hw int) []float32 {
	out := make([]float32, len(m))
	for i := 0; i < len(m)/hw; i++ {
		codes := make([]int64, hw)
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for p, v := range m[i*hw : (i+1)*hw] {
			codes[p] = int64(math.Round(float64(v)*1024))*int64(hw) + int64(hw-1-p)
			lo, hi = min(lo, codes[p]), max(hi, codes[p])
		}
		for p, c := range codes {
			out[i*hw+p] = float32(float64(c-lo) / float64(hi-lo))
		}
	}
	return out
}

// TestMetricsMatchXplique compares Deletion, Insertion, Average Drop and
// Increase in Confidence with Xplique 2.0.2 (scripts/peer_metrics.py) on
// the shapes model, 32 evaluation images, Grad-CAM and Grad-CAM++ maps made
// tie-free (untie), 10 steps, zero baseline. The variants are the same:
// pixels (all channels) flipped in descending map order at numpy linspace
// counts, baseline 0, AUC = mean(s[:-1]+s[1:])/2 (linear, so the AUC of
// Xplique's batch-mean curve is the mean of tfcam's per-image AUCs),
// masked image x·m with m already exactly in [0,1] (Xplique's own min–max,
// with eps 1e-8, leaves it unchanged in float32). Probabilities agree within
// 1e-6 (TensorFlow graph vs Keras; measured: ≤ 7e-8); Increase in Confidence is compared per
// image where |O−Y| exceeds that.
func TestMetricsMatchXplique(t *testing.T) {
	const n, steps, tol = 32, 10, 1e-6
	f, m, x := loadShapes(t, n)
	h, w, _ := m.InputSize()
	hw := h * w
	methods := []explainer.Method{explainer.GradCAM{}, explainer.GradCAMPlusPlus{}}
	ex, err := explainer.New(m, explainer.Config{Methods: methods})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ex.Explain(context.Background(), explainer.Batch{Pixels: x, N: n}, explainer.Top1())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(m, Config{Steps: steps, Baseline: Zero})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var works []string
	ours := map[string][]Faithfulness{}
	for j, meth := range methods {
		var raw []float32
		classes := make([]int, n)
		targets := make([]float32, n)
		for i := range res {
			raw = append(raw, res[i].Maps[0][j].Normalized...)
			classes[i] = res[i].Maps[0][j].Class
			targets[i] = float32(classes[i])
		}
		untied := untie(raw, hw)
		for i := 0; i < n; i++ {
			s := slices.Clone(untied[i*hw : (i+1)*hw])
			slices.Sort(s)
			if len(slices.Compact(s)) != hw || s[0] != 0 || s[hw-1] != 1 {
				t.Fatalf("%s image %d: the untied map has ties or is not exactly [0,1]", meth.Name(), i)
			}
		}
		work := filepath.Join(root, meth.Name())
		os.MkdirAll(work, 0o755)
		for name, v := range map[string]struct {
			data  []float32
			shape []int
		}{"inputs": {x, []int{n, h, w, 3}}, "maps": {untied, []int{n, h, w}}, "targets": {targets, []int{n}}} {
			if err := npy.WriteFloat32File(filepath.Join(work, name+".npy"), v.data, v.shape); err != nil {
				t.Fatal(err)
			}
		}
		works = append(works, work)
		if ours[meth.Name()], err = ev.Run(context.Background(), x, untied, classes); err != nil {
			t.Fatal(err)
		}
	}
	fixture.Python(t, "peer_metrics.py", append([]string{f.Dir, "10"}, works...)...)
	for _, meth := range methods {
		t.Run(meth.Name(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, meth.Name(), "xplique.json"))
			if err != nil {
				t.Fatal(err)
			}
			var xp struct {
				Deletion, Insertion    []float64
				DeletionAUC            float64   `json:"deletion_auc"`
				InsertionAUC           float64   `json:"insertion_auc"`
				AverageDrop            []float64 `json:"average_drop"`
				AverageDropMean        float64   `json:"average_drop_mean"`
				Increase, Base, Masked []float64
			}
			if err := json.Unmarshal(raw, &xp); err != nil {
				t.Fatal(err)
			}
			faith := ours[meth.Name()]
			sum := Summarize([]string{"m"}, func() []ImageResult {
				var r []ImageResult
				for _, fa := range faith {
					r = append(r, ImageResult{Method: "m", Faithfulness: fa})
				}
				return r
			}())[0]
			var aucDel, aucIns float64
			for _, fa := range faith {
				aucDel += AUC(fa.Deletion) / n
				aucIns += AUC(fa.Insertion) / n
			}
			if len(xp.Deletion) != steps+1 || len(xp.Base) != n {
				t.Fatalf("xplique.json: %d deletion points, %d images; want %d, %d", len(xp.Deletion), len(xp.Base), steps+1, n)
			}
			worst := map[string]float64{
				"deletion curve":  maxDiff(sum.Deletion, xp.Deletion),
				"insertion curve": maxDiff(sum.Insertion, xp.Insertion),
				"deletion AUC":    math.Max(math.Abs(sum.DeletionAUC-xp.DeletionAUC), math.Abs(aucDel-xp.DeletionAUC)),
				"insertion AUC":   math.Max(math.Abs(sum.InsertionAUC-xp.InsertionAUC), math.Abs(aucIns-xp.InsertionAUC)),
				"average drop":    math.Abs(AverageDrop(faith)/100 - xp.AverageDropMean),
			}
			var base, masked, drop []float64
			undecided, flips := 0, 0
			for i, fa := range faith {
				base, masked = append(base, fa.Base), append(masked, fa.Masked)
				drop = append(drop, AverageDrop([]Faithfulness{fa})/100)
				if math.Abs(fa.Masked-fa.Base) <= tol {
					undecided++
				} else if (fa.Masked > fa.Base) != (xp.Increase[i] == 1) {
					flips++
				}
			}
			worst["Y per image"], worst["O per image"], worst["average drop per image"] = maxDiff(base, xp.Base), maxDiff(masked, xp.Masked), maxDiff(drop, xp.AverageDrop)
			keys := slices.Sorted(maps.Keys(worst))
			for _, k := range keys {
				if d := worst[k]; d > tol {
					t.Errorf("%s: max difference from Xplique %.3g > %g", k, d, tol)
				} else {
					t.Logf("%s: max difference from Xplique %.2g", k, d)
				}
			}
			if flips > 0 {
				t.Errorf("increase in confidence: %d of %d images disagree with Xplique", flips, n-undecided)
			}
			t.Logf("ours: deletion AUC %.5f, insertion AUC %.5f, average drop %.4f%%, increase %.1f%%; Xplique: %.5f, %.5f, %.4f%%",
				sum.DeletionAUC, sum.InsertionAUC, AverageDrop(faith), IncreaseInConfidence(faith), xp.DeletionAUC, xp.InsertionAUC, 100*xp.AverageDropMean)
		})
	}
}

func maxDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
