package evaluate

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func fp(v float64) *float64 { return &v }

// sum is a summary measuring only the pointing games and max-sensitivity
// (no deletion curve: the perturbation metrics are not measured), so that
// the expected ranks below are worked out by hand over three metrics that
// count and two (sparseness, complexity) that do not.
func sum(method string, pg, epg, ms *float64, passes int, flags ...string) Summary {
	return Summary{Method: method, PointingGame: pg, EnergyPointingGame: epg, MaxSensitivity: ms, Passes: passes, Flags: flags,
		Sparseness: 0.5, Complexity: 3}
}

// TestRank: fractional ranks per metric, missing values tied last, the
// mean over the metrics that count, and the recommendation. Every
// expectation is worked out by hand in the comments.
func TestRank(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []Summary
		metrics []string
		// ranks per method over metrics; means per method.
		ranks   [][]float64
		means   []float64
		rec     string
		cheaper string
		text    []string // substrings of the recommendation's text
	}{
		{
			// pointing (↑): a=b=50 share places 1,2 → 1.5, c 3.
			// energy (↑): b=c=60 → 1.5, a 3. max sens (↓): a 1, c 2, b 3.
			// sparseness/complexity all equal → 2 each, outside the mean.
			// means: a (1.5+3+1)/3 = 11/6, b (1.5+1.5+3)/3 = 2, c (3+1.5+2)/3 = 13/6.
			name: "ties",
			in: []Summary{sum("a", fp(50), fp(40), fp(0.1), 1), sum("b", fp(50), fp(60), fp(0.3), 1),
				sum("c", fp(20), fp(60), fp(0.2), 1)},
			metrics: []string{"pointing_game_pct", "energy_pointing_game_pct", "sparseness", "complexity", "max_sensitivity"},
			ranks:   [][]float64{{1.5, 3, 2, 2, 1}, {1.5, 1.5, 2, 2, 3}, {3, 1.5, 2, 2, 2}},
			means:   []float64{11.0 / 6, 2, 13.0 / 6},
			rec:     "a",
			text:    []string{"Trust a for this model", "best mean rank (1.83", "over 3 metrics among the 3 methods"},
		},
		{
			// b lacks max-sensitivity: c 1, a 2, b last (3).
			// means: a (1.5+3+2)/3 = 13/6, b (1.5+1.5+3)/3 = 2, c (3+1.5+1)/3 = 11/6.
			name: "missing value is last",
			in: []Summary{sum("a", fp(50), fp(40), fp(0.3), 1), sum("b", fp(50), fp(60), nil, 1),
				sum("c", fp(20), fp(60), fp(0.2), 1)},
			metrics: []string{"pointing_game_pct", "energy_pointing_game_pct", "sparseness", "complexity", "max_sensitivity"},
			ranks:   [][]float64{{1.5, 3, 2, 2, 2}, {1.5, 1.5, 2, 2, 3}, {3, 1.5, 2, 2, 1}},
			means:   []float64{13.0 / 6, 2, 11.0 / 6},
			rec:     "c",
		},
		{
			// Within TieTolerance (1e-5 relative) values tie: pointing
			// 50 and 50.0004 share 1.5; 50.001 (2e-5 away) does not.
			// energy: 60 vs 59.9995 tie at 1.5, c 3. No max sens.
			name: "rounding ties",
			in: []Summary{sum("a", fp(50), fp(60), nil, 1), sum("b", fp(50.0004), fp(59.9995), nil, 1),
				sum("c", fp(50.001), fp(10), nil, 1)},
			metrics: []string{"pointing_game_pct", "energy_pointing_game_pct", "sparseness", "complexity"},
			ranks:   [][]float64{{2.5, 1.5, 2, 2}, {2.5, 1.5, 2, 2}, {1, 3, 2, 2}},
			means:   []float64{2, 2, 2},
			rec:     "a",
		},
		{
			// Two lack max-sensitivity: they share places 2 and 3 → 2.5.
			// No boxes: the pointing games leave the table; the mean is
			// max-sensitivity's rank alone.
			name:    "two missing, no boxes",
			in:      []Summary{sum("a", nil, nil, fp(0.3), 1), sum("b", nil, nil, nil, 1), sum("c", nil, nil, nil, 1)},
			metrics: []string{"sparseness", "complexity", "max_sensitivity"},
			ranks:   [][]float64{{2, 2, 1}, {2, 2, 2.5}, {2, 2, 2.5}},
			means:   []float64{1, 2.5, 2.5},
			rec:     "a",
		},
		{
			// pointing: c 1, a 2, b 3; energy: c 1, a 2, b 3; max sens: c 1, b 2, a 3.
			// means: a 7/3, b 8/3, c 1 — but c is flagged, so a; b is within
			// one place (8/3 − 7/3 = 1/3) at 65/1 ≥ 4 times fewer passes.
			name: "flagged best, cheaper runner-up",
			in: []Summary{sum("a", fp(90), fp(80), fp(0.2), 65), sum("b", fp(80), fp(70), fp(0.1), 1),
				sum("c", fp(100), fp(100), fp(0.05), 1, "its maps survive weight randomisation")},
			metrics: []string{"pointing_game_pct", "energy_pointing_game_pct", "sparseness", "complexity", "max_sensitivity"},
			ranks:   [][]float64{{2, 2, 2, 2, 3}, {3, 3, 2, 2, 2}, {1, 1, 2, 2, 1}},
			means:   []float64{7.0 / 3, 8.0 / 3, 1},
			rec:     "a",
			cheaper: "b",
			text: []string{"Trust a", "passed the sanity checks", "b is nearly as good (mean rank 2.67) at 1 forward pass per image instead of 65",
				"Do not trust c: its maps survive weight randomisation."},
		},
		{
			// Equal means (1.5 each): the cheaper b is recommended though
			// listed second; a is not cheaper, so no cheaper alternative.
			name:    "mean tie goes to the cheaper",
			in:      []Summary{sum("a", fp(60), fp(40), nil, 10), sum("b", fp(40), fp(60), nil, 2)},
			metrics: []string{"pointing_game_pct", "energy_pointing_game_pct", "sparseness", "complexity"},
			ranks:   [][]float64{{1, 2, 1.5, 1.5}, {2, 1, 1.5, 1.5}},
			means:   []float64{1.5, 1.5},
			rec:     "b",
			text:    []string{"a ties with it"},
		},
		{
			name:    "all flagged",
			in:      []Summary{sum("a", fp(60), nil, nil, 1, "x"), sum("b", fp(40), nil, nil, 1, "y", "z")},
			metrics: []string{"pointing_game_pct", "sparseness", "complexity"},
			ranks:   [][]float64{{1, 1.5, 1.5}, {2, 1.5, 1.5}},
			means:   []float64{1, 2},
			rec:     "",
			text:    []string{"No method can be recommended", "Do not trust a: x.", "Do not trust b: y; z."},
		},
		{
			name:    "one method",
			in:      []Summary{sum("a", fp(10), nil, nil, 3)},
			metrics: []string{"pointing_game_pct", "sparseness", "complexity"},
			ranks:   [][]float64{{1, 1, 1}},
			means:   []float64{1},
			rec:     "a",
			text:    []string{"a is the only method evaluated"},
		},
		{
			// Only the map-shape metrics: nothing counts towards the mean.
			name:    "nothing to rank by",
			in:      []Summary{sum("a", nil, nil, nil, 1), sum("b", nil, nil, nil, 1)},
			metrics: []string{"sparseness", "complexity"},
			ranks:   [][]float64{{1.5, 1.5}, {1.5, 1.5}},
			means:   []float64{math.NaN(), math.NaN()},
			rec:     "",
			text:    []string{"no metric that ranks methods was measured"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			rk := Rank(c.in)
			var names []string
			for _, m := range rk.Metrics {
				names = append(names, m.Name)
			}
			if !slices.Equal(names, c.metrics) {
				t.Fatalf("metrics %v, want %v", names, c.metrics)
			}
			for i, r := range rk.Rows {
				if !slices.Equal(r.Ranks, c.ranks[i]) {
					t.Errorf("%s: ranks %v, want %v", r.Method, r.Ranks, c.ranks[i])
				}
				if w := c.means[i]; math.IsNaN(w) != math.IsNaN(r.MeanRank) || !math.IsNaN(w) && math.Abs(r.MeanRank-w) > 1e-12 {
					t.Errorf("%s: mean rank %v, want %v", r.Method, r.MeanRank, w)
				}
			}
			rec := rk.Recommend()
			if rec.Method != c.rec || rec.Cheaper != c.cheaper {
				t.Errorf("recommends %q (cheaper %q), want %q (%q): %s", rec.Method, rec.Cheaper, c.rec, c.cheaper, rec.Text)
			}
			for _, s := range c.text {
				if !strings.Contains(rec.Text, s) {
					t.Errorf("text %q lacks %q", rec.Text, s)
				}
			}
		})
	}
}

// TestRankPerturbationMetrics: with deletion curves the four model-run
// metrics are ranked in their directions (deletion and Average Drop
// lower, insertion and Increase in Confidence higher); without them
// (a non-class target) they are not measured.
func TestRankPerturbationMetrics(t *testing.T) {
	a := Summary{Method: "a", AverageDrop: 10, IncreaseInConfidence: 20, DeletionAUC: 0.2, InsertionAUC: 0.5, Deletion: []float64{1, 0}}
	b := Summary{Method: "b", AverageDrop: 30, IncreaseInConfidence: 40, DeletionAUC: 0.1, InsertionAUC: 0.4, Deletion: []float64{1, 0}}
	rk := Rank([]Summary{a, b})
	// drop a1 b2, incr b1 a2, deletion b1 a2, insertion a1 b2 → 1.5 each.
	want := map[string][2]float64{"average_drop_pct": {1, 2}, "increase_in_confidence_pct": {2, 1}, "deletion_auc": {2, 1}, "insertion_auc": {1, 2}}
	found := 0
	for j, m := range rk.Metrics {
		if w, ok := want[m.Name]; ok {
			found++
			if rk.Rows[0].Ranks[j] != w[0] || rk.Rows[1].Ranks[j] != w[1] {
				t.Errorf("%s: ranks %v %v, want %v", m.Name, rk.Rows[0].Ranks[j], rk.Rows[1].Ranks[j], w)
			}
		}
	}
	if found != 4 || rk.Rows[0].MeanRank != 1.5 || rk.Rows[1].MeanRank != 1.5 {
		t.Errorf("found %d metrics, means %v %v", found, rk.Rows[0].MeanRank, rk.Rows[1].MeanRank)
	}
	a.Deletion, b.Deletion = nil, nil
	for _, m := range Rank([]Summary{a, b}).Metrics {
		if _, ok := want[m.Name]; ok {
			t.Errorf("%s ranked without deletion curves", m.Name)
		}
	}
}
