// Package cgo holds the few TensorFlow C API calls that graft
// (github.com/wamuir/graft/tensorflow) does not expose: freeing a tensor
// now rather than at the next garbage collection, reading the registry
// of op definitions, and keeping asynchronous signals off TensorFlow's
// threads (see WithoutSignals).
//
// It must stay tiny: every function here is a thin, checked wrapper over one
// C call. Anything that understands graphs belongs in tfgraph.
package cgo
