package evaluate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// Box is a ground-truth rectangle in pixels of the original image,
// inclusive: it covers columns X0..X1 and rows Y0..Y1.
type Box struct {
	X0, Y0, X1, Y1 int
}

// Rect is a rectangle in continuous map coordinates, [X0,X1) × [Y0,Y1),
// where pixel (x, y) covers [x,x+1) × [y,y+1).
type Rect struct {
	X0, Y0, X1, Y1 float64
}

// ToMap scales b from an image of iw×ih pixels to a map of mw×mh pixels
// (the model input, which the image was resized to without cropping).
func (b Box) ToMap(iw, ih, mw, mh int) Rect {
	sx, sy := float64(mw)/float64(iw), float64(mh)/float64(ih)
	return Rect{float64(b.X0) * sx, float64(b.Y0) * sy, float64(b.X1+1) * sx, float64(b.Y1+1) * sy}
}

// maxPixelIndex bounds a box's coordinates: no image tfcam decodes is
// that large, and larger values would overflow the box's arithmetic.
const maxPixelIndex = 1 << 24

// ParseBoxes reads a boxes file: CSV with the header image,x0,y0,x1,y1,
// one box per row, several rows for an image with several boxes. Columns
// may come in any order; other columns are ignored. name is used in errors.
func ParseBoxes(r io.Reader, name string) (map[string][]Box, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("boxes file %s is empty; want the header image,x0,y0,x1,y1", name)
	}
	if err != nil {
		return nil, fmt.Errorf("boxes file %s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	need := []string{"image", "x0", "y0", "x1", "y1"}
	for _, k := range need {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("boxes file %s: header %q lacks column %q; want image,x0,y0,x1,y1", name, strings.Join(header, ","), k)
		}
	}
	out := map[string][]Box{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("boxes file %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		var v [4]int
		for i, k := range need[1:] {
			j := col[k]
			if j >= len(rec) {
				return nil, fmt.Errorf("boxes file %s, line %d: no %s value", name, line, k)
			}
			if v[i], err = strconv.Atoi(strings.TrimSpace(rec[j])); err != nil || v[i] < 0 || v[i] > maxPixelIndex {
				return nil, fmt.Errorf("boxes file %s, line %d: %s = %q is not a pixel index (an integer in 0..%d)", name, line, k, rec[j], maxPixelIndex)
			}
		}
		b := Box{v[0], v[1], v[2], v[3]}
		if b.X1 < b.X0 || b.Y1 < b.Y0 {
			return nil, fmt.Errorf("boxes file %s, line %d: box %v is empty (want x0 <= x1 and y0 <= y1, both inclusive)", name, line, v)
		}
		img := strings.TrimSpace(rec[col["image"]])
		if img == "" {
			return nil, fmt.Errorf("boxes file %s, line %d: empty image name", name, line)
		}
		out[img] = append(out[img], b)
	}
	return out, nil
}

// MatchBoxes matches the rows of a boxes file (ParseBoxes: boxes by image
// name) to the images of a run (their paths): by the path as given, else
// by base name. It returns the boxes by image path and the number of rows
// that name no image; a base name that names several images is an error
// (name it by its path).
func MatchBoxes(rows map[string][]Box, paths []string) (map[string][]Box, int, error) {
	byPath, byBase := map[string]string{}, map[string][]string{}
	for _, p := range paths {
		byPath[filepath.Clean(p)] = p
		base := filepath.Base(p)
		byBase[base] = append(byBase[base], p)
	}
	out := map[string][]Box{}
	unmatched := 0
	for name, boxes := range rows {
		if p, ok := byPath[filepath.Clean(name)]; ok {
			out[p] = append(out[p], boxes...)
			continue
		}
		switch ps := byBase[name]; len(ps) {
		case 0:
			unmatched++
		case 1:
			out[ps[0]] = append(out[ps[0]], boxes...)
		default:
			return nil, 0, fmt.Errorf("image %q matches %d inputs (%s, ...); name it by its path", name, len(ps), ps[0])
		}
	}
	return out, unmatched, nil
}
