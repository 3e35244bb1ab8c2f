package serve

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestErrorLogFoldsHandshakes: within an interval, TLS handshake errors
// after the first are counted, not written; the count is written with
// the next one after the interval; other lines always pass.
func TestErrorLogFoldsHandshakes(t *testing.T) {
	var out bytes.Buffer
	l := ErrorLog(&out, time.Hour)
	for i := range 2000 {
		l.Printf("http: TLS handshake error from 10.0.0.%d:4000: EOF", i%250)
	}
	l.Printf("http: panic serving 10.0.0.1:1: boom")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "TLS handshake error") || !strings.Contains(lines[1], "panic") {
		t.Fatalf("wrote %d lines, want the first handshake error and the panic:\n%s", len(lines), out.String())
	}
	fw := l.Writer().(*foldingWriter)
	if fw.folded != 1999 {
		t.Errorf("%d folded, want 1999", fw.folded)
	}
	fw.last = time.Now().Add(-2 * time.Hour) // the interval has passed
	l.Printf("http: TLS handshake error from 10.0.0.9:4000: EOF")
	if !strings.Contains(out.String(), "(1999 more TLS handshake errors") {
		t.Errorf("the folded count is not written after the interval:\n%s", out.String())
	}
}
