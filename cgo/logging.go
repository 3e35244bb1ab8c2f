package cgo

import (
	"os"
	"sync"
)

// LibraryLogLevel is the TensorFlow log level tfcam's packages choose when
// the program has not set TF_CPP_MIN_LOG_LEVEL: 1, warnings and errors
// only, so that loading a SavedModel does not print TensorFlow's
// informational lines ("Reading SavedModel from ...", "Restoring
// SavedModel bundle.", ...). The tfcam command uses 2 (errors only).
const LibraryLogLevel = "1"

var quietOnce sync.Once

// QuietTensorFlow sets TF_CPP_MIN_LOG_LEVEL to LibraryLogLevel unless it is
// set. TensorFlow's logger reads the variable at its first line, which
// comes when a first session is created: tfcam's packages call this
// before they create one, so embedders get a quiet TensorFlow without
// doing anything, and set the variable themselves to choose otherwise
// (TF_CPP_MIN_LOG_LEVEL=0 shows everything).
//
// Half of TensorFlow 2.18 logs through its own copy of Abseil, which no
// variable governs and which is not exported: its two lines on the first
// graph run ("WARNING: All log messages before absl::InitializeLog() ..."
// and "I0000 ... MLIR V1 optimization pass is not enabled") stay in a
// program that embeds tfcam; the tfcam command filters them out.
func QuietTensorFlow() {
	quietOnce.Do(func() {
		if _, set := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL"); !set {
			os.Setenv("TF_CPP_MIN_LOG_LEVEL", LibraryLogLevel)
		}
	})
}
