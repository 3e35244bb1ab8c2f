// Package models holds model presets: what tfcam needs to know about a
// model beyond its SavedModel — the preprocessing its weights expect, its
// class names, the layer to explain — read from a small JSON file beside the
// model so that users (and tfcam's own demo and fixture models) do not have
// to repeat flags.
//
// It must not load TensorFlow; it only reads files.
package models
