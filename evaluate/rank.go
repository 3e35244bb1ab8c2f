package evaluate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Metric describes one metric of the summary table.
type Metric struct {
	// Name is the CSV/JSON name ("deletion_auc"), Head the table header
	// with its arrow ("deletion AUC↓"), Title a sentence-long name.
	Name, Head, Title string
	// HigherIsBetter gives the metric's direction.
	HigherIsBetter bool
	// InMeanRank says whether the metric counts towards MeanRank.
	// Sparseness and complexity do not: they describe the map's shape, not
	// whether it is right (a map on one random pixel is perfectly sparse).
	InMeanRank bool
}

// Ranking is every method's place on every metric that was measured.
type Ranking struct {
	// Metrics are the metrics at least one method has a value for, in
	// table order; a metric nobody measured (no boxes, no ROAD) is left
	// out.
	Metrics []Metric
	// Rows are the methods in the report's order.
	Rows []RankedMethod
}

// RankedMethod is one method's row of a Ranking.
type RankedMethod struct {
	Method string
	// Values and Ranks are per Ranking.Metrics. A value is nil when this
	// method lacks a metric others have (max-sensitivity of an all-zero
	// map). Rank 1 is best; methods with equal values (within
	// TieTolerance) share the mean of
	// the places they span (fractional ranking: two tied for first are
	// 1.5 each); methods lacking the value are tied last among
	// themselves, after every method that has it.
	Values []*float64
	Ranks  []float64
	// MeanRank is the mean of Ranks over the metrics with InMeanRank; NaN
	// when no such metric was measured. Over reports with the same
	// metrics it is comparable; its best possible value is 1.
	MeanRank float64
	// Passes is the method's forward passes per image (Summary.Passes, 0:
	// unknown); Flags its failed sanity checks (Summary.Flags).
	Passes int
	Flags  []string
}

// Metrics lists every metric of the table in column order.
func Metrics() []Metric {
	out := make([]Metric, len(columns))
	for i, c := range columns {
		out[i] = c.info()
	}
	return out
}

func (c metric) info() Metric {
	return Metric{Name: c.name, Head: c.head, Title: c.title, HigherIsBetter: c.higher, InMeanRank: c.mean}
}

// Rank ranks methods on each measured metric (see RankedMethod for ties
// and missing values) and averages their ranks over the metrics that
// count (Metric.InMeanRank). Flagged methods are ranked like the others:
// the flags only keep them out of Recommend.
func Rank(methods []Summary) Ranking {
	var rk Ranking
	for _, s := range methods {
		rk.Rows = append(rk.Rows, RankedMethod{Method: s.Method, Passes: s.Passes, Flags: s.Flags})
	}
	for _, c := range columns {
		vals := make([]*float64, len(methods))
		any := false
		for i, s := range methods {
			if v := c.value(s); v != nil && !math.IsNaN(*v) {
				vals[i], any = v, true
			}
		}
		if !any {
			continue
		}
		rk.Metrics = append(rk.Metrics, c.info())
		ranks := fractionalRanks(vals, c.higher)
		for i := range rk.Rows {
			rk.Rows[i].Values = append(rk.Rows[i].Values, vals[i])
			rk.Rows[i].Ranks = append(rk.Rows[i].Ranks, ranks[i])
		}
	}
	for i := range rk.Rows {
		sum, n := 0.0, 0
		for j, m := range rk.Metrics {
			if m.InMeanRank {
				sum += rk.Rows[i].Ranks[j]
				n++
			}
		}
		rk.Rows[i].MeanRank = math.NaN()
		if n > 0 {
			rk.Rows[i].MeanRank = sum / float64(n)
		}
	}
	return rk
}

// TieTolerance is the relative difference below which two values of a
// metric tie: methods that compute the same map by different float32
// operations (Grad-CAM and HiResCAM on a global-average-pooled head)
// differ by rounding, and must not be ranked apart by it, on any CPU.
const TieTolerance = 1e-5

// tied reports a and b equal within TieTolerance of the larger.
func tied(a, b float64) bool {
	return math.Abs(a-b) <= TieTolerance*max(math.Abs(a), math.Abs(b))
}

// fractionalRanks ranks vals (best first by higher), equal values sharing
// the mean of their places, nil values after all others.
func fractionalRanks(vals []*float64, higher bool) []float64 {
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	// Best first, exactly; nil last.
	slices.SortStableFunc(idx, func(a, b int) int {
		va, vb := vals[a], vals[b]
		switch {
		case va == nil && vb == nil:
			return 0
		case va == nil:
			return 1
		case vb == nil:
			return -1
		case higher:
			return cmp.Compare(*vb, *va)
		}
		return cmp.Compare(*va, *vb)
	})
	// Groups of ties: nils, or values tied with the group's first.
	same := func(a, b int) bool {
		if vals[a] == nil || vals[b] == nil {
			return vals[a] == nil && vals[b] == nil
		}
		return tied(*vals[a], *vals[b])
	}
	ranks := make([]float64, len(vals))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && same(idx[i], idx[j]) {
			j++
		}
		// Places i+1..j share their mean.
		r := float64(i+1+j) / 2
		for _, k := range idx[i:j] {
			ranks[k] = r
		}
		i = j
	}
	return ranks
}

// Recommendation is which method a report recommends, and why.
type Recommendation struct {
	// Method is the unflagged method with the best mean rank (ties: fewer
	// passes, then table order); "" when every method is flagged or none
	// has a mean rank.
	Method   string
	MeanRank float64
	// Cheaper is an unflagged method at least CheaperFactor times cheaper
	// (Passes) whose mean rank is within NearlyAsGood of Method's, ""
	// when none is; the best ranked such method, ties the cheapest.
	Cheaper         string
	CheaperMeanRank float64
	// Flagged are the flagged methods in table order.
	Flagged []string
	// Text says all this in plain language, in a few sentences.
	Text string
}

const (
	// CheaperFactor is how many times fewer forward passes per image make
	// a method "much cheaper" in Recommend.
	CheaperFactor = 4
	// NearlyAsGoodShare sets NearlyAsGood: a share of the number of ranked
	// methods.
	NearlyAsGoodShare = 0.1
)

// NearlyAsGood is how much worse a mean rank may be than the best one for
// Recommend to call a method nearly as good: one place, or
// NearlyAsGoodShare of the n ranked methods when that is more.
func NearlyAsGood(n int) float64 { return max(1, NearlyAsGoodShare*float64(n)) }

// Recommend picks the method to trust: the best mean rank among the
// methods not flagged, a much cheaper method that is nearly as good, and
// the flagged methods with their reasons.
func (rk Ranking) Recommend() Recommendation {
	var rec Recommendation
	var ok []RankedMethod
	for _, r := range rk.Rows {
		switch {
		case len(r.Flags) > 0:
			rec.Flagged = append(rec.Flagged, r.Method)
		case !math.IsNaN(r.MeanRank):
			ok = append(ok, r)
		}
	}
	// Best mean rank first; ties: cheaper (known costs first), then table
	// order (the sort is stable).
	slices.SortStableFunc(ok, func(a, b RankedMethod) int {
		if a.MeanRank != b.MeanRank {
			return cmp.Compare(a.MeanRank, b.MeanRank)
		}
		return cmpPasses(a.Passes, b.Passes)
	})
	var b strings.Builder
	nMean := 0
	for _, m := range rk.Metrics {
		if m.InMeanRank {
			nMean++
		}
	}
	switch {
	case len(ok) == 0 && len(rec.Flagged) > 0:
		b.WriteString("No method can be recommended for this model: every method failed a sanity check (below), so none of their maps can be trusted to depend on the model.")
	case len(ok) == 0:
		b.WriteString("No method can be recommended: no metric that ranks methods was measured.")
	default:
		best := ok[0]
		rec.Method, rec.MeanRank = best.Method, best.MeanRank
		if len(rk.Rows) == 1 {
			fmt.Fprintf(&b, "%s is the only method evaluated, so there is nothing to compare it against; read its scores against the metrics' ranges.", best.Method)
			break
		}
		fmt.Fprintf(&b, "Trust %s for this model: it has the best mean rank (%.2f; 1 is first on every metric) over %d metrics among the %d methods",
			best.Method, best.MeanRank, nMean, len(rk.Rows))
		if len(rec.Flagged) > 0 {
			b.WriteString(" and passed the sanity checks")
		}
		b.WriteString(".")
		if len(ok) > 1 && ok[1].MeanRank == best.MeanRank {
			fmt.Fprintf(&b, " %s ties with it; %s is listed first because it is as cheap or cheaper.", ok[1].Method, best.Method)
		}
		slack := NearlyAsGood(len(rk.Rows))
		for _, r := range ok[1:] {
			if r.Passes > 0 && best.Passes > 0 && r.Passes*CheaperFactor <= best.Passes && r.MeanRank <= best.MeanRank+slack {
				if rec.Cheaper == "" || r.MeanRank < rec.CheaperMeanRank || (r.MeanRank == rec.CheaperMeanRank && r.Passes < passesOf(rk, rec.Cheaper)) {
					rec.Cheaper, rec.CheaperMeanRank = r.Method, r.MeanRank
				}
			}
		}
		if rec.Cheaper != "" {
			p := passesOf(rk, rec.Cheaper)
			fmt.Fprintf(&b, " %s is nearly as good (mean rank %.2f) at %d forward pass%s per image instead of %d: use it when %s is too slow.",
				rec.Cheaper, rec.CheaperMeanRank, p, plural(p, "", "es"), best.Passes, best.Method)
		}
	}
	for _, r := range rk.Rows {
		if len(r.Flags) > 0 {
			fmt.Fprintf(&b, " Do not trust %s: %s.", r.Method, strings.Join(r.Flags, "; "))
		}
	}
	rec.Text = b.String()
	return rec
}

func passesOf(rk Ranking, method string) int {
	for _, r := range rk.Rows {
		if r.Method == method {
			return r.Passes
		}
	}
	return 0
}

// cmpPasses orders known costs (> 0) cheapest first, unknown ones last.
func cmpPasses(a, b int) int {
	switch {
	case a == b:
		return 0
	case a <= 0:
		return 1
	case b <= 0:
		return -1
	case a < b:
		return -1
	}
	return 1
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
