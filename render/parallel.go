package render

import (
	"runtime"
	"sync"
)

// parallel calls fn on contiguous chunks of [0,n) — at most one per
// GOMAXPROCS, each at least minChunk long — concurrently, and returns when
// all are done. Work too small to split runs on the calling goroutine. fn
// must only write to its own chunk.
func parallel(n, minChunk int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(1, minChunk))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := i*n/workers, (i+1)*n/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
