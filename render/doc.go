// Package render turns class-activation maps into pictures and files: it
// colours a float32 heatmap with a colormap (colormap.go), resizes it
// bilinearly and blends it over the original image (resize.go, overlay.go),
// converts it to 16-bit grayscale (gray.go), writes PNG and JPEG files
// atomically (atomic.go, encode.go) and builds a static, paginated HTML
// gallery of the results (gallery.go, gallery.html).
//
// A map is a row-major []float32 of mw×mh values, expected in [0,1]; values
// outside are clamped and NaN counts as 0, so a bad map gives a bad picture
// rather than a panic.
//
// It must not know about TensorFlow, models or explanation methods: callers
// hand it plain slices, images and names. Everything here is a pure function
// of its arguments (apart from the files it is asked to write) and is safe
// for concurrent use.
package render
