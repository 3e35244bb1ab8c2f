// Package tfgraph owns tfcam's view of a TensorFlow model: loading a
// SavedModel (tags and signatures discovered from saved_model.pb), moving
// batches in and out as flat float32 slices, inlining the serving function
// so every layer is an addressable tensor, finding layers and logits, adding
// gradients and the graph rewrites they need.
//
// It knows nothing about explanation methods, images or files other than
// the SavedModel itself; explainer builds on it.
package tfgraph
