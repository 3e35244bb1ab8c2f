// Package tfcam explains the decisions of TensorFlow image models with
// class-activation maps and attributions. This package is the front door
// for Go programs: Open loads a SavedModel with its preset (labels,
// default layer, pixel preprocessing) and gives what the rest of tfcam
// needs — an explainer (Model.Explainer) and a decoder of image files
// into the model's inputs (Model.Decoder).
//
// The pieces below it, each with one job:
//
//	tfgraph    the SavedModel as a graph tfcam can extend (layers, gradients)
//	explainer  the methods: maps for a batch in one graph run
//	tfimage    decoding, resizing and rendering with TensorFlow's kernels
//	inputs     files, folders, globs, lists, buckets → images with keys; shards
//	engine     the batch engine: read → decode → one run per batch → write
//	results    the record schema, crash-safe folder and bucket sinks, merge
//	evaluate   metrics that say which map to trust
//	serve      the HTTP service on the same pieces
//	storage    object stores (gocloud.dev/blob)
//
// cmd/tfcam is the command line on top of them.
package tfcam
