package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGrace is how long the graph run in flight may go on after the first
// SIGINT or SIGTERM before it is aborted and its images left for the next
// run: long enough for an ordinary batch to finish and be written, short
// enough that a run of Score-CAM's thousands of copies or of a sanity
// check stops well within Kubernetes' 30 s.
const stopGrace = 5 * time.Second

// abandonedNote says how many images an aborted graph run left undone.
func abandonedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d image(s) stopped mid-run %v after the signal, not written", n, stopGrace)
}

// stopSignal is the signal that stopped the run, for its exit code.
var stopSignal atomic.Value

// interruptContext is cancelled by the first SIGINT or SIGTERM: the run
// finishes the batch in flight and exits (130, or 143 for SIGTERM). A
// second signal exits at once: what is written is consistent (an image is
// marked done only after its files are complete), only the batch in
// flight is lost.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-ch
		if !ok {
			return
		}
		stopSignal.Store(s)
		fmt.Fprintf(os.Stderr, "\n%v: stopping: the graph run in flight has %v to finish, then is abandoned; what is done stays written (again to stop at once)\n", s, stopGrace)
		cancel()
		if s, ok = <-ch; ok {
			fmt.Fprintf(os.Stderr, "\n%v: stopping now; run the same command again to resume\n", s)
			os.Exit(signalExitCode())
		}
	}()
	return ctx, func() { signal.Stop(ch); close(ch); cancel() }
}

// signalExitCode is 128 + the signal's number: 130 for Ctrl-C, 143 for
// SIGTERM.
func signalExitCode() int {
	if s, ok := stopSignal.Load().(syscall.Signal); ok && s == syscall.SIGTERM {
		return 143
	}
	return 130
}

// interruptedError turns the cancellation of a run's context (Ctrl-C,
// SIGTERM) while it finds its inputs into the interrupted exit; other
// errors pass through.
func interruptedError(err error) error {
	if errors.Is(err, context.Canceled) {
		return exitError{code: signalExitCode(), msg: "interrupted while finding the inputs; nothing was started: run the same command again to resume"}
	}
	return err
}
