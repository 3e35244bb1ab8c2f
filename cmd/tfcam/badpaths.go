package main

import (
	"fmt"
	"io"

	"github.com/tfcam/tfcam/engine"
)

// badPaths are the inputs that expansion reported and skipped (missing,
// unreadable, not regular files, duplicate keys): they count as failed.
type badPaths []badPath

type badPath struct {
	path string
	err  error
}

func (b *badPaths) add(path string, err error) { *b = append(*b, badPath{path, err}) }

// report prints each one; a sharded job reports them in shard 0 only.
func (b badPaths) report(log io.Writer) {
	for _, x := range b {
		fmt.Fprintln(log, engine.FailureLine("failed", x.path, x.err))
	}
}
