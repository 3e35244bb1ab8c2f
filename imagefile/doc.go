// Package imagefile owns tfcam's pixels before they reach a model: reading
// image files (JPEG, PNG, GIF, BMP, TIFF, WebP) into image.Image with JPEG
// EXIF orientation applied, and turning any image.Image into a flat,
// channels-last float32 model input with one of the usual preprocessing
// presets (raw, unit, tf, caffe, torch).
//
// The data path through the package is:
//
//	ReadFile (path → bytes) → Decode (file → image.Image) → ToTensor (image.Image → resized, preprocessed []float32)
//
// ReadFile reads regular files only and never blocks: a named pipe, a
// device, a socket or a directory given as an image is refused unread, and
// so is a file over a size limit.
//
// It must not know about TensorFlow, models or explanation methods: it
// neither imports tfgraph nor guesses a model's input size or preset;
// callers pass those in. It writes into caller-owned slices so a batch
// tensor can be filled image by image without copies.
//
// Errors name the file (or the name given to DecodeReader), say what is
// wrong and what to do, and wrap the sentinel errors ErrNotRegular,
// ErrFileTooLarge, ErrEmpty, ErrTruncated, ErrUnsupported,
// ErrUnsupportedFeature, ErrCorrupt and ErrTooLarge (plus the fs or
// decoder error) so callers can tell bad files apart with errors.Is. They
// name a file's type (PDF, ZIP, text, a CMYK TIFF) and never quote its
// bytes: a list may name any file. Nothing in the package panics on bad
// input.
package imagefile
