package render

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// GalleryImage is one input image in the gallery: its original, its top
// predictions and its overlays, one row per explained class.
type GalleryImage struct {
	// Input is the display name (usually the input's file name).
	Input string
	// Original is the path of the original image (or a thumbnail), relative
	// to the gallery's directory. Empty shows a "no image" box.
	Original string
	// Predictions are the model's top predictions, best first; the first
	// one's score is the image's confidence, which the page can sort by.
	Predictions []GalleryPrediction
	// PredictionScore says what the Predictions' scores are ("model
	// output", "probability", "logit", "target score"); each score is shown
	// after it, as "probability 0.871". Empty shows "score 0.871".
	PredictionScore string
	// Failed, when set, is why the input could not be explained: the
	// page shows it in place of maps, and the "failed" filter finds it.
	Failed string
	// Maps are the overlays. Maps with the same Class make one row,
	// captioned with the class and its score; rows come in the order their
	// class first appears, tiles in the Maps' order.
	Maps []GalleryMap
}

// GalleryPrediction is one of an image's top predictions.
type GalleryPrediction struct {
	// Label is the class's name.
	Label string
	// Score is shown with three decimals, named by
	// GalleryImage.PredictionScore.
	Score float32
}

// GalleryMap is one explanation of an image.
type GalleryMap struct {
	// Method is the explanation method's name ("gradcam").
	Method string
	// Class is the explained class's label; it also groups the image's
	// maps into rows.
	Class string
	// Score is the explained class's score and ScoreName what it is
	// ("logit", "probability", "target score"); the class's row shows the
	// first of its maps' scores as "logit 4.200". An empty ScoreName shows
	// no score: a number whose meaning is unknown is not shown.
	Score     float32
	ScoreName string
	// Flat marks a map without signal, whose overlay shows noise or zeros
	// rather than a heatmap; its tile says so and the page's "flat maps"
	// filter finds its image.
	Flat bool
	// Kind is how the overlay draws the map: "" a heatmap (Style heat),
	// "gradient" a gray image of pixel gradients, "signed" red and blue
	// around zero. The page has a legend for each kind it shows.
	Kind string
	// Overlay is the overlay image's path relative to the gallery's
	// directory.
	Overlay string
}

// DefaultPerPage is the page size a Gallery uses when its PerPage is <= 0.
const DefaultPerPage = 50

// GalleryDataFile is the script every page of a gallery loads for its sort
// and filter controls: the whole gallery's images, so that a sorted or
// filtered view spans every page.
const GalleryDataFile = "index-data.js"

// Gallery is a static HTML gallery of explained images (Write).
type Gallery struct {
	// Title heads every page.
	Title string
	// Images are shown in this order unless the reader sorts them.
	Images []GalleryImage
	// Colormap is the one the overlays were coloured with, drawn as every
	// page's legend; empty means Jet.
	Colormap Colormap
	// PerPage is the number of images to a page (DefaultPerPage if <= 0).
	PerPage int
}

// WriteGallery writes Gallery{Title: title, Images: images, PerPage:
// perPage} into dir, its overlays taken to be coloured with Jet.
func WriteGallery(dir, title string, images []GalleryImage, perPage int) error {
	return Gallery{Title: title, Images: images, PerPage: perPage}.Write(dir)
}

// Write writes the gallery into dir as static HTML pages: per input image,
// its name and top predictions, the original, and one row per explained
// class holding that class's overlays, one per method. Every score is
// named ("model output 0.871", "logit 4.200"), never a bare number, and a
// flat map is marked as such. Every page starts with a legend of
// g.Colormap, a bar from 0 to 1, saying that each map was min–max scaled
// to [0,1] (low → high relevance).
//
// Images are shown g.PerPage to a page: index.html, index-2.html,
// index-3.html, ..., linked by first, previous, next and last links when
// there is more than one page, so a gallery of 10,000 images stays usable;
// images load lazily (loading="lazy"). The pages work without JavaScript.
// With it, each page's controls sort the images by confidence (the top
// prediction's score, either way) or by name, and show all of them or only
// those with a flat map; the view, paginated alike, spans the whole
// gallery and is kept in the URL's fragment (#sort=conf-asc&show=flat&page=2)
// so that it can be bookmarked and Back works. It comes from GalleryDataFile,
// a script written beside the pages holding every image's section (pages
// opened from file:// may load scripts but not fetch files).
//
// Every file is written with WriteFileAtomic, GalleryDataFile first and
// index.html last, so that no page refers to a file not yet written. Text
// is HTML-escaped and paths are escaped as URLs (a name like "a#1?.png" or
// "x:y.png" still works); a path is always a local file, never an external
// URL — "https://host/x.png" is read as the relative path https:/host/x.png.
// Nothing is loaded from outside dir. Pages left over from an earlier,
// longer gallery are not removed.
func (g Gallery) Write(dir string) error {
	tmpl, err := galleryTemplate()
	if err != nil {
		return fmt.Errorf("render: gallery: %w", err)
	}
	cmap := g.Colormap
	if cmap == "" {
		cmap = Jet
	}
	if !cmap.valid() {
		return fmt.Errorf("render: gallery: %w", unknownColormap(string(cmap)))
	}
	if dir == "" {
		dir = "."
	}
	perPage := g.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	// Each image's section is rendered once, for its page and for the
	// script that lets the reader re-sort the whole gallery.
	sections := make([]template.HTML, len(g.Images))
	index := galleryIndex{PerPage: perPage, Images: make([]galleryIndexImage, len(g.Images))}
	flatImages, failedImages := 0, 0
	var b strings.Builder
	for i, im := range g.Images {
		v := newImageView(i+1, im)
		b.Reset()
		if err := tmpl.ExecuteTemplate(&b, "image", v); err != nil {
			return fmt.Errorf("render: gallery: image %d (%s): %w", i+1, im.Input, err)
		}
		sections[i] = template.HTML(b.String())
		index.Images[i] = galleryIndexImage{N: i + 1, Name: im.Input, Conf: confidence(im), Flat: v.Flat, Failed: im.Failed != "", HTML: b.String()}
		if v.Flat {
			flatImages++
		}
		if im.Failed != "" {
			failedImages++
		}
	}
	err = WriteFileAtomic(filepath.Join(dir, GalleryDataFile), func(w io.Writer) error {
		if _, err := io.WriteString(w, "window.tfcamGallery = "); err != nil {
			return err
		}
		// encoding/json escapes <, >, & and U+2028/9: the script is inert text.
		return json.NewEncoder(w).Encode(index)
	})
	if err != nil {
		return fmt.Errorf("render: gallery data: %w", err)
	}
	legend := newLegend(cmap)
	kinds := map[string]bool{}
	for _, im := range g.Images {
		for _, mp := range im.Maps {
			kinds[mp.Kind] = true
		}
	}
	css := func(c [3]uint8) template.CSS { return template.CSS(fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])) }
	pages := max(1, (len(g.Images)+perPage-1)/perPage)
	for p := pages; p >= 1; p-- {
		lo := (p - 1) * perPage
		hi := min(lo+perPage, len(g.Images))
		data := galleryPage{
			Title:              g.Title,
			Page:               p,
			Pages:              pages,
			Total:              len(g.Images),
			FlatImages:         flatImages,
			FailedImages:       failedImages,
			FirstN:             lo + 1,
			LastN:              hi,
			Legend:             legend,
			Heat:               kinds[""] || len(kinds) == 0,
			Gradient:           kinds[StyleGradient.String()],
			Signed:             kinds[StyleSigned.String()],
			GradientPercentile: GradientPercentile,
			ForColor:           css(SignedColors.For),
			AgainstColor:       css(SignedColors.Against),
			Data:               GalleryDataFile,
			Sections:           sections[lo:hi],
		}
		if p > 1 {
			data.Prev, data.FirstPage = pageName(p-1), pageName(1)
		}
		if p < pages {
			data.Next, data.LastPage = pageName(p+1), pageName(pages)
		}
		file := filepath.Join(dir, pageName(p))
		if err := WriteFileAtomic(file, func(w io.Writer) error { return tmpl.Execute(w, data) }); err != nil {
			return fmt.Errorf("render: gallery page %d of %d: %w", p, pages, err)
		}
	}
	return nil
}

// pageName is the file name of page p (1-based).
func pageName(p int) string {
	if p == 1 {
		return "index.html"
	}
	return "index-" + strconv.Itoa(p) + ".html"
}

// confidence is the image's top prediction's score, nil without one (or
// when it is not a number, which JSON cannot hold): the page sorts those
// last.
func confidence(im GalleryImage) *float32 {
	if len(im.Predictions) == 0 {
		return nil
	}
	s := im.Predictions[0].Score
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return nil
	}
	return &s
}

// galleryIndex is GalleryDataFile's content, what the page's script sorts,
// filters and pages.
type galleryIndex struct {
	PerPage int                 `json:"perPage"`
	Images  []galleryIndexImage `json:"images"`
}

type galleryIndexImage struct {
	N      int      `json:"n"` // 1-based place in the gallery
	Name   string   `json:"name"`
	Conf   *float32 `json:"conf"`
	Flat   bool     `json:"flat"`
	Failed bool     `json:"failed"`
	HTML   string   `json:"html"` // the image's section, as on its page
}

// galleryPage is what gallery.html renders.
type galleryPage struct {
	Title               string
	Page, Pages, Total  int
	FlatImages          int    // images with at least one flat map
	FailedImages        int    // inputs that failed
	FirstN, LastN       int    // 1-based numbers of the page's first and last image
	Prev, Next          string // neighbouring pages, empty at the ends
	FirstPage, LastPage string // set together with Prev and Next respectively
	Legend              galleryLegend
	// Heat, Gradient and Signed say which legends the gallery needs: the
	// colormap's when any map is a heatmap (or there is none), the gray
	// ramp's and the two signed colours' when such maps are shown.
	Heat, Gradient, Signed bool
	// GradientPercentile and the signed colours, for those legends.
	GradientPercentile     int
	ForColor, AgainstColor template.CSS
	Data                   string // GalleryDataFile
	Sections               []template.HTML
}

// galleryLegend is the colormap's bar: its name and a CSS gradient.
type galleryLegend struct {
	Colormap Colormap
	Gradient template.CSS
}

// legendStops is the number of colours the legend's gradient is drawn
// from: 1/32 steps hit jet's corners (multiples of 1/8) and stay within a
// unit of 8-bit colour of turbo's and viridis's tables.
const legendStops = 33

func newLegend(c Colormap) galleryLegend {
	stops := make([]string, legendStops)
	for i := range stops {
		t := float32(i) / (legendStops - 1)
		k := c.Color(t)
		stops[i] = fmt.Sprintf("#%02x%02x%02x %.2f%%", k.R, k.G, k.B, 100*t)
	}
	// Made here from numbers only, so it is safe to mark as CSS.
	return galleryLegend{Colormap: c, Gradient: template.CSS("linear-gradient(to right," + strings.Join(stops, ",") + ")")}
}

// galleryImageView is what gallery.html's "image" template renders.
type galleryImageView struct {
	N           int
	Input       string
	Original    string // URL-escaped
	Predictions []galleryPredictionView
	Rows        []galleryRowView
	Flat        bool   // some map is flat
	Failed      string // why the input failed
}

type galleryPredictionView struct {
	Label, Score string // Score named: "probability 0.871"
}

// galleryRowView is one explained class of an image.
type galleryRowView struct {
	Class string
	Score string       // named, "logit 4.200"; empty when unknown
	Maps  []GalleryMap // Overlay URL-escaped
}

func newImageView(n int, im GalleryImage) galleryImageView {
	v := galleryImageView{N: n, Input: im.Input, Original: relURL(im.Original), Failed: im.Failed}
	name := im.PredictionScore
	if name == "" {
		name = "score"
	}
	for _, p := range im.Predictions {
		v.Predictions = append(v.Predictions, galleryPredictionView{Label: p.Label, Score: namedScore(name, p.Score)})
	}
	row := map[string]int{} // class → index in v.Rows
	for _, m := range im.Maps {
		m.Overlay = relURL(m.Overlay)
		v.Flat = v.Flat || m.Flat
		i, ok := row[m.Class]
		if !ok {
			i = len(v.Rows)
			row[m.Class] = i
			v.Rows = append(v.Rows, galleryRowView{Class: m.Class})
		}
		r := &v.Rows[i]
		if r.Score == "" && m.ScoreName != "" {
			r.Score = namedScore(m.ScoreName, m.Score)
		}
		r.Maps = append(r.Maps, m)
	}
	return v
}

// namedScore is a score as the gallery shows it: "logit 4.200".
func namedScore(name string, s float32) string {
	return name + " " + strconv.FormatFloat(float64(s), 'f', 3, 32)
}

// relURL turns a file path into a URL that can only name a local file:
// slash-separated and cleaned (so "//host/x" cannot name a host), each
// segment percent-escaped (so '#', '?', '%', '\' and spaces in file names
// survive as part of the name), and prefixed with "./" when the first
// segment has a colon, which a browser would otherwise read as a URL scheme
// ("c:", "http:", "javascript:", "data:"). html/template then escapes the
// result for the attribute without changing it.
func relURL(p string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(path.Clean(filepath.ToSlash(p)), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.Join(segs, "/")
	if strings.Contains(segs[0], ":") {
		u = "./" + u
	}
	return u
}

//go:embed gallery.html
var galleryHTML string

// galleryTemplate parses gallery.html once; a parse error is returned rather
// than panicking at init.
var galleryTemplate = sync.OnceValues(func() (*template.Template, error) {
	return template.New("gallery").Funcs(template.FuncMap{
		"img": func(src, alt string) galleryImg { return galleryImg{Src: src, Alt: alt} },
	}).Parse(galleryHTML)
})

// galleryImg is the argument of gallery.html's "img" template.
type galleryImg struct {
	Src, Alt string
}
