// Package results is what a run leaves behind and how it is read back:
// the record schema of each image (Record, one JSON line; serve answers
// with the same fields), the crash-safe sinks that store an image's files
// and then its line (Dir for a folder, Bucket for an object store; the
// line is the only "done" marker, so a run killed at any moment loses at
// most the images in flight and a rerun resumes), the TFRecord form of
// the maps (MapExample) and Merge, which joins every shard's results.
//
// It must not compute or render anything: the caller hands it bytes.
package results
