// Package engine is tfcam's batch engine: the data path every command
// shares, images → read and decode (workers, TensorFlow's kernels) →
// batches in input order → one graph run per batch → outputs (workers).
// A command says what a batch run and a write are (Stages); the engine
// owns the goroutines, the bounded queues between them, the order, the
// per-image retry of a failed batch (RetryAlone, which serve's batcher
// shares) and what happens on cancellation (work in flight finishes).
//
// It must not know what a command computes or where it writes: no
// explainer settings, no file layout, no flags.
package engine
