package cgo

// #include <pthread.h>
// #include <signal.h>
//
// // Block every asynchronous signal on the calling thread; synchronous ones
// // (faults, abort) stay deliverable so that a crash is still reported.
// static int tfcam_block_async_signals(sigset_t *old) {
// 	sigset_t set;
// 	sigfillset(&set);
// 	sigdelset(&set, SIGSEGV);
// 	sigdelset(&set, SIGBUS);
// 	sigdelset(&set, SIGFPE);
// 	sigdelset(&set, SIGILL);
// 	sigdelset(&set, SIGTRAP);
// 	sigdelset(&set, SIGABRT);
// 	return pthread_sigmask(SIG_BLOCK, &set, old);
// }
//
// static int tfcam_restore_signals(sigset_t *old) {
// 	return pthread_sigmask(SIG_SETMASK, old, NULL);
// }
import "C"

import "runtime"

// WithoutSignals runs f on one OS thread with asynchronous signals (SIGPROF,
// SIGURG, SIGINT, ...) blocked, then restores the thread's mask.
//
// Why: threads inherit their creator's signal mask, and TensorFlow creates
// its thread pools inside the C calls made through f (loading a SavedModel,
// the first Session.Run). oneDNN's JIT f32 GEMM kernels, which TensorFlow
// 2.18 uses for MatMul, BatchMatMul and Eigen contractions on x86, point the
// stack pointer into a heap workspace while they run; a signal delivered to
// such a thread then writes its frame into the heap (glibc later aborts with
// "corrupted size vs. prev_size"; oneDNN issue #4845, fixed in oneDNN 3.11.2,
// after TF 2.18). Go's CPU profiler delivers SIGPROF to every thread that
// burns CPU, so profiling a process that runs tfcam corrupted memory. With
// TensorFlow's threads blocking these signals the kernel sends them to Go's
// threads instead, where the runtime handles them.
func WithoutSignals(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old C.sigset_t
	if C.tfcam_block_async_signals(&old) != 0 {
		return f()
	}
	defer C.tfcam_restore_signals(&old)
	return f()
}
