package evaluate

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tfcam/tfcam/render"
)

// Example is one image of the report's example maps: the image and each
// method's overlay of its map, as encoded PNG or JPEG files (the command
// renders them; this package does not read or draw images).
type Example struct {
	// Image names the image (its path).
	Image string
	// Original is the image itself, Maps the overlays in any order.
	Original []byte
	Maps     []ExampleMap
}

// ExampleMap is one method's overlay in an Example.
type ExampleMap struct {
	Method string
	// Class is the explained class's name or index.
	Class string
	Image []byte
	// Style is how Image draws the map (tfimage.StyleOf its kind).
	Style render.Style
}

// styleCaption says how an example overlay of style s reads.
func styleCaption(s render.Style) string {
	switch s {
	case render.StyleGradient:
		return fmt.Sprintf("pixel gradient: gray, white at its %dth percentile", render.GradientPercentile)
	case render.StyleSigned:
		return "signed: red for the class, blue against, clear at 0"
	}
	return "heatmap: low → high"
}

// FewImages is the number of images below which the report warns that
// its ranks are noisy.
const FewImages = 30

// SmallSample is the caveat for a report on fewer than FewImages images,
// which the page, the Markdown and the command's console all give; ""
// when there are enough.
func (r *Report) SmallSample() string {
	images := 0
	if len(r.Methods) > 0 {
		images = r.Methods[0].Images
	}
	if images >= FewImages {
		return ""
	}
	return fmt.Sprintf("Only %d image%s: ranks this close are within noise; evaluate on %d or more images before relying on the recommendation.", images, plural(images, "", "s"), FewImages)
}

// pageView is what report.html and the Markdown render: every value
// formatted, so both show the same numbers.
type pageView struct {
	Title    string
	Settings [][2]string
	Metrics  []Metric
	Rows     []pageRow
	Rec      Recommendation
	// MeanOver names the metrics the mean rank is over.
	MeanOver string
	Slack    string
	Notes    []string
	// Sanity: the table has a sanity column (some method was checked).
	Sanity   bool
	Plots    []pagePlot
	Examples []pageExample
}

type pageRow struct {
	Method, Passes, MeanRank string
	Cells                    []string // "value (rank)" per metric
	Flags                    []string
	// Sanity is the sanity checks' numbers and verdict ("" unchecked).
	Sanity               string
	Recommended, Cheaper bool
}

type pagePlot struct {
	Title string
	Src   template.URL
}

type pageExample struct {
	Image    string
	Original template.URL
	Maps     []pageMap
}

type pageMap struct {
	Method, Class, Drawing string
	Src                    template.URL
}

// dataURI embeds an encoded image (PNG, JPEG, ...) in the page.
func dataURI(b []byte) template.URL {
	if len(b) == 0 {
		return ""
	}
	// The bytes are ours (encoded by the command or the plotter) and the
	// URI is base64 of them under a sniffed image type: safe to mark as a
	// URL for html/template, which otherwise rejects data: URIs.
	mime := http.DetectContentType(b)
	if !strings.HasPrefix(mime, "image/") {
		mime = "application/octet-stream"
	}
	return template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b))
}

// formatValue formats one metric value as the terminal table does.
func formatValue(name string, v *float64) string {
	if v == nil {
		return "-"
	}
	for _, c := range columns {
		if c.name == name && c.top == 100 {
			return strconv.FormatFloat(*v, 'f', 1, 64)
		}
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func formatRank(r float64) string {
	if r == math.Trunc(r) {
		return strconv.Itoa(int(r))
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// view computes the ranking and the recommendation and formats the page.
func (r *Report) view(plots bool, examples []Example) (pageView, error) {
	rk := Rank(r.Methods)
	rec := rk.Recommend()
	st := r.Settings
	images, boxed := 0, 0
	if len(r.Methods) > 0 {
		images, boxed = r.Methods[0].Images, r.Methods[0].Boxed
	}
	v := pageView{Title: "tfcam eval: " + st.Model, Metrics: rk.Metrics, Rec: rec,
		Slack: formatRank(NearlyAsGood(len(rk.Rows)))}
	add := func(k, val string) { v.Settings = append(v.Settings, [2]string{k, val}) }
	add("model", st.Model)
	add("layer", st.Layer)
	add("target", cmp.Or(st.Target, "class"))
	add("class", st.Class)
	add("images", strconv.Itoa(images))
	if st.Boxes != "" {
		add("boxes", fmt.Sprintf("%s (%d images with boxes, tolerance %.1f map px)", st.Boxes, boxed, st.Tolerance))
	}
	if len(r.Methods) > 0 && len(r.Methods[0].Deletion) > 0 {
		b := st.Baseline
		if st.BlurSigma > 0 {
			b += fmt.Sprintf(" (σ %.2f px)", st.BlurSigma)
		}
		add("deletion/insertion", fmt.Sprintf("%d steps, baseline %s", st.Steps, b))
	} else {
		v.Notes = append(v.Notes, fmt.Sprintf("Target %s: the perturbation metrics (Average Drop, Increase in Confidence, deletion, insertion, ROAD) score class probabilities, which is not what these maps explain, so they were not run.", cmp.Or(st.Target, "class")))
	}
	if note := r.SmallSample(); note != "" {
		v.Notes = append(v.Notes, note)
	}
	if len(st.ROADPercentages) > 0 {
		add("ROAD", fmt.Sprintf("%v %%, noise %g", st.ROADPercentages, st.ROADNoise))
	}
	if st.SensitivitySamples > 0 {
		add("max-sensitivity", fmt.Sprintf("%d samples, radius %g", st.SensitivitySamples, st.SensitivityRadius))
	}
	if st.Seed != 0 {
		add("seed", strconv.FormatUint(st.Seed, 10))
	}
	if st.MethodSpec != "" {
		add("--method", st.MethodSpec)
	}
	sanity := map[string]*SanitySummary{}
	for _, s := range r.Methods {
		if s.Sanity != nil {
			sanity[s.Method] = s.Sanity
		}
	}
	if v.Sanity = len(sanity) > 0; v.Sanity {
		add("sanity checks", sanitySettings(st, sanity))
	}
	var over []string
	for _, m := range rk.Metrics {
		if m.InMeanRank {
			over = append(over, m.Head)
		}
	}
	v.MeanOver = strings.Join(over, ", ")
	for _, row := range rk.Rows {
		pr := pageRow{Method: row.Method, Passes: "?", MeanRank: "-", Flags: row.Flags,
			Recommended: row.Method == rec.Method, Cheaper: row.Method == rec.Cheaper,
			Sanity: sanityCell(sanity[row.Method])}
		if row.Passes > 0 {
			pr.Passes = strconv.Itoa(row.Passes)
		}
		if !math.IsNaN(row.MeanRank) {
			pr.MeanRank = strconv.FormatFloat(row.MeanRank, 'f', 2, 64)
		}
		for j, m := range rk.Metrics {
			cell := formatValue(m.Name, row.Values[j]) + " (" + formatRank(row.Ranks[j]) + ")"
			pr.Cells = append(pr.Cells, cell)
		}
		v.Rows = append(v.Rows, pr)
	}
	if plots && len(r.Methods) > 0 {
		type plot struct {
			title string
			draw  func(io.Writer) error
		}
		var ps []plot
		if len(r.Methods[0].Deletion) > 0 {
			ps = append(ps, plot{"Deletion curves", func(w io.Writer) error { return r.plotCurves(w, "deletion", reportDPI) }},
				plot{"Insertion curves", func(w io.Writer) error { return r.plotCurves(w, "insertion", reportDPI) }})
		}
		if r.measured() {
			ps = append(ps, plot{"Scores per metric", func(w io.Writer) error { return r.plotScores(w, reportDPI) }})
		}
		if len(st.SanityCuts) > 0 {
			ps = append(ps, plot{"Model-parameter randomisation", func(w io.Writer) error { return r.plotSanity(w, reportDPI) }})
		}
		for _, p := range ps {
			var b bytes.Buffer
			if err := p.draw(&b); err != nil {
				return v, err
			}
			v.Plots = append(v.Plots, pagePlot{p.title, dataURI(b.Bytes())})
		}
	}
	for _, ex := range examples {
		pe := pageExample{Image: ex.Image, Original: dataURI(ex.Original)}
		for _, m := range ex.Maps {
			pe.Maps = append(pe.Maps, pageMap{m.Method, m.Class, styleCaption(m.Style), dataURI(m.Image)})
		}
		v.Examples = append(v.Examples, pe)
	}
	return v, nil
}

//go:embed report.html
var reportHTML string

// reportTemplate parses report.html once; a parse error is returned
// rather than panicking at init.
var reportTemplate = sync.OnceValues(func() (*template.Template, error) {
	return template.New("report").Parse(reportHTML)
})

// WriteHTML writes the one-page report: settings, the table of every
// method's scores with its rank per metric and mean rank (Rank), its cost,
// the recommendation (Recommend) with the flagged methods and their
// reasons, the plots and the examples' overlays. The page is
// self-contained: inline CSS, no JavaScript, every image a data: URI.
func (r *Report) WriteHTML(w io.Writer, examples []Example) error {
	tmpl, err := reportTemplate()
	if err != nil {
		return fmt.Errorf("evaluate: report template: %w", err)
	}
	v, err := r.view(true, examples)
	if err != nil {
		return err
	}
	return tmpl.Execute(w, v)
}

// WriteMarkdown writes the report's settings, table and recommendation as
// Markdown, to paste into an issue (no plots or images).
func (r *Report) WriteMarkdown(w io.Writer) error {
	v, err := r.view(false, nil)
	if err != nil {
		return err
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", esc(v.Title))
	for _, s := range v.Settings {
		fmt.Fprintf(&b, "- %s: %s\n", s[0], esc(s[1]))
	}
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "- %s\n", esc(n))
	}
	fmt.Fprintf(&b, "\n**Recommendation.** %s\n\n", esc(v.Rec.Text))
	b.WriteString("| method | passes/image | mean rank |")
	for _, m := range v.Metrics {
		b.WriteString(" " + esc(m.Head) + " |")
	}
	if v.Sanity {
		b.WriteString(" sanity |")
	}
	b.WriteString(" flags |\n|---|--:|--:|")
	for range v.Metrics {
		b.WriteString("--:|")
	}
	if v.Sanity {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, row := range v.Rows {
		name := esc(row.Method)
		if row.Recommended {
			name = "**" + name + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", name, row.Passes, row.MeanRank)
		for _, c := range row.Cells {
			b.WriteString(" " + c + " |")
		}
		if v.Sanity {
			b.WriteString(" " + esc(row.Sanity) + " |")
		}
		fmt.Fprintf(&b, " %s |\n", esc(strings.Join(row.Flags, "; ")))
	}
	fmt.Fprintf(&b, "\nCells are value (rank); ↑ higher is better, ↓ lower. Mean rank: over %s; equal values (within 1e-5 relative) share the mean of their places, a missing value ranks last. Sparseness and complexity are ranked but not in the mean.\n", esc(v.MeanOver))
	_, err = io.WriteString(w, b.String())
	return err
}

// sanitySettings describes the sanity checks that ran, for the settings.
func sanitySettings(st Settings, sums map[string]*SanitySummary) string {
	var parts []string
	if len(st.SanityCuts) > 0 {
		parts = append(parts, fmt.Sprintf("model-parameter randomisation, %d layers with weights randomised from the top in %d steps (fails: mean Spearman of |maps| > %.2f)", len(st.SanityLayers), len(st.SanityCuts), ParamsThreshold))
	}
	for _, s := range sums {
		if s.LogitSSIM != nil {
			parts = append(parts, fmt.Sprintf("random logit (fails: mean SSIM > %.2f)", LogitThreshold))
			break
		}
	}
	out := strings.Join(parts, "; ")
	if st.SanityImages > 0 {
		out += fmt.Sprintf("; on the first %d images", st.SanityImages)
	}
	return out
}

// sanityCell is a method's sanity numbers and verdict ("" unchecked).
func sanityCell(s *SanitySummary) string {
	if s == nil {
		return ""
	}
	var parts []string
	if s.SpearmanAbsMean != nil {
		parts = append(parts, fmt.Sprintf("|ρ| %.2f", *s.SpearmanAbsMean))
	}
	if s.LogitSSIM != nil {
		parts = append(parts, fmt.Sprintf("logit SSIM %.2f", *s.LogitSSIM))
	}
	return strings.Join(parts, ", ") + ": " + s.Verdict()
}
