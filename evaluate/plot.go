package evaluate

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette is Tableau 10: distinguishable colours for up to ten methods
// (more repeat with dashes).
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

func methodColor(i int) color.Color { return palette[i%len(palette)] }

// PlotCurves draws the mean deletion or insertion curve of every method
// (curve is "deletion" or "insertion") as a PNG, the AUC in each legend
// entry.
func (r *Report) PlotCurves(w io.Writer, curve string) error {
	return r.plotCurves(w, curve, plotDPI)
}

// plotDPI is the plots' resolution; reportDPI the smaller one of the
// plots embedded in report.html, which keeps the page small.
const plotDPI, reportDPI = 110, 72

func (r *Report) plotCurves(w io.Writer, curve string, dpi float64) error {
	p := plot.New()
	var auc func(Summary) float64
	var values func(Summary) []float64
	switch curve {
	case "deletion":
		p.Title.Text = "Deletion: probability as the most important pixels are removed (lower AUC is better)"
		auc, values = func(s Summary) float64 { return s.DeletionAUC }, func(s Summary) []float64 { return s.Deletion }
	case "insertion":
		p.Title.Text = "Insertion: probability as the most important pixels are revealed (higher AUC is better)"
		auc, values = func(s Summary) float64 { return s.InsertionAUC }, func(s Summary) []float64 { return s.Insertion }
	default:
		return fmt.Errorf("evaluate: unknown curve %q (deletion or insertion)", curve)
	}
	p.X.Label.Text = fmt.Sprintf("fraction of pixels %s (baseline: %s)", map[string]string{"deletion": "removed", "insertion": "revealed"}[curve], r.Settings.Baseline)
	p.Y.Label.Text = "mean probability of the explained class"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Add(plotter.NewGrid())
	// Deletion curves fall and insertion curves rise: keep the legend clear.
	p.Legend.Top = curve == "deletion"
	for i, s := range r.Methods {
		v := values(s)
		xys := make(plotter.XYs, len(v))
		for k := range v {
			xys[k] = plotter.XY{X: r.Fractions[k], Y: v[k]}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("evaluate: %s curve of %s: %w", curve, s.Method, err)
		}
		l.Color = methodColor(i)
		l.Width = vg.Points(1.5)
		if i >= len(palette) {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (AUC %.3f)", s.Method, auc(s)), l)
	}
	return writePNG(w, [][]*plot.Plot{{p}}, 9*vg.Inch, 5.5*vg.Inch, dpi)
}

// PlotScores draws a bar chart per metric (one bar per method), in a grid:
// rows of 4 panels, or of 2 wider ones for more than ten methods. Metrics
// no method has a value for (not measured in this run) get no panel.
func (r *Report) PlotScores(w io.Writer) error { return r.plotScores(w, plotDPI) }

func (r *Report) plotScores(w io.Writer, dpi float64) error {
	cols, width, rowHeight := 4, 18*vg.Inch, 4*vg.Inch
	if n := len(r.Methods); n > 10 {
		cols, width, rowHeight = 2, vg.Length(2+0.5*float64(n))*2*vg.Inch, 4.25*vg.Inch
	}
	var names []string
	for _, s := range r.Methods {
		names = append(names, s.Method)
	}
	var grid [][]*plot.Plot
	var row []*plot.Plot
	for _, c := range r.measuredColumns() {
		p := plot.New()
		p.Title.Text = c.title
		p.Y.Min = 0
		vals := make(plotter.Values, len(r.Methods))
		for i, s := range r.Methods {
			if v := c.value(s); v != nil && !math.IsNaN(*v) {
				vals[i] = *v
			}
		}
		bar := width / vg.Length(cols) * 0.6 / vg.Length(max(len(names), 1))
		for i := range vals {
			one := make(plotter.Values, len(vals))
			one[i] = vals[i]
			b, err := plotter.NewBarChart(one, bar)
			if err != nil {
				return fmt.Errorf("evaluate: bar chart %s: %w", c.name, err)
			}
			b.Color = methodColor(i)
			b.LineStyle.Width = 0
			p.Add(b)
		}
		p.NominalX(names...)
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
		if c.top > 0 {
			p.Y.Max = c.top
		}
		row = append(row, p)
		if len(row) == cols {
			grid, row = append(grid, row), nil
		}
	}
	if len(row) > 0 {
		for len(row) < cols {
			row = append(row, nil) // an empty tile
		}
		grid = append(grid, row)
	}
	if len(grid) == 0 {
		return errors.New("evaluate: no metric was measured: nothing to plot")
	}
	return writePNG(w, grid, width, rowHeight*vg.Length(len(grid)), dpi)
}

// measuredColumns are the metrics some method has a value for, in
// columns order: the scores chart's panels. A metric this run did not
// measure (no boxes, no ROAD, a non-class target) gets no empty panel;
// the table says "not measured".
func (r *Report) measuredColumns() []metric {
	var out []metric
	for _, c := range columns {
		for _, s := range r.Methods {
			if v := c.value(s); v != nil && !math.IsNaN(*v) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// measured reports whether the scores chart has a panel.
func (r *Report) measured() bool { return len(r.measuredColumns()) > 0 }

// writePNG draws a grid of plots on one PNG canvas.
func writePNG(w io.Writer, grid [][]*plot.Plot, width, height vg.Length, dpi float64) error {
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(int(dpi)))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(grid, tiles, dc)
	for j := range grid {
		for i, p := range grid[j] {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("evaluate: encoding a plot: %w", err)
	}
	return nil
}

// PlotSanity draws the model-parameter randomisation curves: per method,
// the mean similarity of its maps to the originals against the number of
// layers randomised from the top, in three panels (Spearman, Spearman of
// |maps|, SSIM), the threshold of the verdict dashed on the |maps| panel.
func (r *Report) PlotSanity(w io.Writer) error { return r.plotSanity(w, plotDPI) }

func (r *Report) plotSanity(w io.Writer, dpi float64) error {
	cuts := r.Settings.SanityCuts
	if len(cuts) == 0 {
		return fmt.Errorf("evaluate: no model-parameter randomisation results to plot")
	}
	panels := []struct {
		title string
		curve func(*SanitySummary) []float64
	}{
		{"Spearman ρ of maps vs original", func(s *SanitySummary) []float64 { return s.Spearman }},
		{"Spearman ρ of |maps| (fails when its mean is above the dashed line)", func(s *SanitySummary) []float64 { return s.SpearmanAbs }},
		{"SSIM of |maps|", func(s *SanitySummary) []float64 { return s.SSIM }},
	}
	var row []*plot.Plot
	for k, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = fmt.Sprintf("layers randomised from the top (of %d)", len(r.Settings.SanityLayers))
		p.Y.Label.Text = "mean similarity"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, float64(cuts[len(cuts)-1]), -0.2, 1
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		for i, s := range r.Methods {
			if s.Sanity == nil || len(pn.curve(s.Sanity)) != len(cuts) {
				continue
			}
			// The curve starts at 1: the map against itself.
			xys := plotter.XYs{{X: 0, Y: 1}}
			for j, v := range pn.curve(s.Sanity) {
				xys = append(xys, plotter.XY{X: float64(cuts[j]), Y: v})
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("evaluate: sanity curve of %s: %w", s.Method, err)
			}
			l.Color = methodColor(i)
			l.Width = vg.Points(1.5)
			if i >= len(palette) {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			p.Add(l)
			if k == 1 {
				p.Legend.Add(fmt.Sprintf("%s (%s)", s.Method, s.Sanity.Verdict()), l)
			}
		}
		if k == 1 {
			th, err := plotter.NewLine(plotter.XYs{{X: 0, Y: ParamsThreshold}, {X: float64(cuts[len(cuts)-1]), Y: ParamsThreshold}})
			if err != nil {
				return fmt.Errorf("evaluate: sanity threshold line: %w", err)
			}
			th.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			th.Color = color.Gray{Y: 90}
			p.Add(th)
		}
		row = append(row, p)
	}
	return writePNG(w, [][]*plot.Plot{row}, 18*vg.Inch, 5.5*vg.Inch, dpi)
}
