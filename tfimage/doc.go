// Package tfimage runs tfcam's pixel work on TensorFlow's image kernels:
// decoding files (libjpeg-turbo with DCT-domain downscaling, libpng),
// EXIF orientation, antialiased resizing and preprocessing into a model
// input on the way in (decode.go); colouring maps, blending them over the
// image and encoding JPEG/PNG files on the way out (render.go). Each image
// is one Session.Run of a small graph in a CPU session of its own (graph.go),
// so callers run many images at once from worker goroutines and a bad file
// fails alone.
//
// Why not in the model's own Session.Run: images differ in size and format,
// a corrupt file would fail its whole batch, and decoding/encoding run on
// the CPU whatever device the model uses; separate runs keep the model's
// graph, batch and device untouched and let decoding overlap it.
//
// What TensorFlow cannot read (GIF, BMP, TIFF, WebP, CMYK or odd JPEGs) is
// decoded by imagefile's Go decoders and fed to the same graph as pixels,
// so every image goes through the same resize, alpha and preprocessing ops.
//
// It must not know about explanation methods, models' graphs or files on
// disk: it turns bytes into tensors and tensors into bytes.
package tfimage
