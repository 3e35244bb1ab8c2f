package serve

import (
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"time"
)

// ErrorLog returns a logger for http.Server.ErrorLog that writes to w
// but folds the lines a client alone causes — failed TLS handshakes (a
// port scanner, a plain-HTTP client, an idle connection closed) — into
// one line per interval with their count, so that 2,000 idle connections
// do not write 2,000 lines. Other lines pass through.
func ErrorLog(w io.Writer, interval time.Duration) *log.Logger {
	return log.New(&foldingWriter{w: w, interval: interval}, "", log.LstdFlags)
}

// foldingWriter is ErrorLog's writer.
type foldingWriter struct {
	w        io.Writer
	interval time.Duration

	mu     sync.Mutex
	last   time.Time // when a handshake line was last written
	folded int       // handshake lines not written since
}

func (f *foldingWriter) Write(p []byte) (int, error) {
	if !strings.Contains(string(p), "TLS handshake error") {
		return f.w.Write(p)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if !f.last.IsZero() && now.Sub(f.last) < f.interval {
		f.folded++
		return len(p), nil
	}
	if f.folded > 0 {
		fmt.Fprintf(f.w, "(%d more TLS handshake errors in the last %v)\n", f.folded, now.Sub(f.last).Round(time.Second))
	}
	f.last, f.folded = now, 0
	return f.w.Write(p)
}
