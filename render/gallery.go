package render

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// GalleryImage is one input image in the gallery: its original and one
// overlay per explanation.
type GalleryImage struct {
	// Input is the display name (usually the input's file name).
	Input string
	// Original is the path of the original image (or a thumbnail), relative
	// to the gallery's directory. Empty shows a "no image" box.
	Original string
	// Predictions are the model's top predictions, best first.
	Predictions []GalleryPrediction
	// Maps are the overlays shown next to the original, in order.
	Maps []GalleryMap
}

// GalleryPrediction is one of an image's top predictions.
type GalleryPrediction struct {
	// Label is the class's name.
	Label string
	// Score is shown with three decimals: a probability, or a logit for
	// models without a softmax.
	Score float32
}

// GalleryMap is one explanation of an image.
type GalleryMap struct {
	// Method is the explanation method's name ("gradcam").
	Method string
	// Class is the explained class's label.
	Class string
	// Overlay is the overlay image's path relative to the gallery's
	// directory.
	Overlay string
}

// DefaultPerPage is the page size WriteGallery uses when asked for
// perPage <= 0.
const DefaultPerPage = 50

// WriteGallery writes a self-contained static HTML gallery into dir: per
// input image, the original next to each method's overlay, captioned with
// the file name, the top predictions (label and score), the explained class
// and the method. The pages have inline CSS, need no JavaScript and refer to
// nothing but the given images and each other.
//
// Images are shown perPage to a page (DefaultPerPage if perPage <= 0):
// index.html, index-2.html, index-3.html, ..., linked by first, previous,
// next and last links when there is more than one page, so a gallery of
// 10,000 images stays usable; images load lazily (loading="lazy").
//
// Every page is written with WriteFileAtomic, index.html last so that it
// never links to a page not yet written. Text is HTML-escaped and paths are
// escaped as URLs (a name like "a#1?.png" or "x:y.png" still works); a path
// is always a local file, never an external URL — "https://host/x.png" is
// read as the relative path https:/host/x.png. Pages left over from an
// earlier, longer gallery are not removed.
func WriteGallery(dir, title string, images []GalleryImage, perPage int) error {
	tmpl, err := galleryTemplate()
	if err != nil {
		return fmt.Errorf("render: gallery: %w", err)
	}
	if dir == "" {
		dir = "."
	}
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	pages := max(1, (len(images)+perPage-1)/perPage)
	for p := pages; p >= 1; p-- {
		lo := (p - 1) * perPage
		hi := min(lo+perPage, len(images))
		data := galleryPage{
			Title:  title,
			Page:   p,
			Pages:  pages,
			Total:  len(images),
			FirstN: lo + 1,
			LastN:  hi,
			Images: make([]galleryImageView, 0, hi-lo),
		}
		if p > 1 {
			data.Prev, data.FirstPage = pageName(p-1), pageName(1)
		}
		if p < pages {
			data.Next, data.LastPage = pageName(p+1), pageName(pages)
		}
		for i, im := range images[lo:hi] {
			data.Images = append(data.Images, newImageView(lo+i+1, im))
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

// galleryPage is what gallery.html renders.
type galleryPage struct {
	Title               string
	Page, Pages, Total  int
	FirstN, LastN       int    // 1-based numbers of the page's first and last image
	Prev, Next          string // neighbouring pages, empty at the ends
	FirstPage, LastPage string // set together with Prev and Next respectively
	Images              []galleryImageView
}

type galleryImageView struct {
	N           int
	Input       string
	Original    string // URL-escaped
	Predictions []GalleryPrediction
	Maps        []GalleryMap // Overlay URL-escaped
}

func newImageView(n int, im GalleryImage) galleryImageView {
	v := galleryImageView{
		N:           n,
		Input:       im.Input,
		Original:    relURL(im.Original),
		Predictions: im.Predictions,
		Maps:        make([]GalleryMap, len(im.Maps)),
	}
	for i, m := range im.Maps {
		m.Overlay = relURL(m.Overlay)
		v.Maps[i] = m
	}
	return v
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
		"score": func(s float32) string { return strconv.FormatFloat(float64(s), 'f', 3, 32) },
		"img":   func(src, alt string) galleryImg { return galleryImg{Src: src, Alt: alt} },
	}).Parse(galleryHTML)
})

// galleryImg is the argument of gallery.html's "img" template.
type galleryImg struct {
	Src, Alt string
}
