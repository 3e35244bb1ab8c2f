package render

import (
	"sync/atomic"
	"testing"
)

func TestParallelCoversOnce(t *testing.T) {
	tests := []struct{ n, minChunk int }{
		{0, 1}, {1, 1}, {7, 1}, {1000, 1}, {1000, 999}, {1000, 0}, {5, 100}, {4096, 16},
	}
	for _, tt := range tests {
		seen := make([]atomic.Int32, tt.n)
		parallel(tt.n, tt.minChunk, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d minChunk=%d: index %d visited %d times", tt.n, tt.minChunk, i, c)
			}
		}
	}
}
