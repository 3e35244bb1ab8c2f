package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 0.50, 50 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.in), tt.p, got, tt.want)
		}
	}
}

// TestRun counts answers by code and measures latency against a server
// that takes at least 20 ms and refuses every third request. It checks
// only what holds however slow the machine is: the window lasts at least
// -d and no longer than the call less the warm-up, no more requests are
// counted than the server answered, 4 clients of 20 ms make at most 200
// requests/s, and every latency is at least 20 ms. Both answers are
// measured once at least 11 requests are (the measured requests and the
// at most 4 warm-up requests still in flight are consecutive answers of
// the server); a busy machine that measures fewer gets a longer window.
func TestRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Authorization") != "Bearer x" {
			w.WriteHeader(400)
			return
		}
		time.Sleep(20 * time.Millisecond)
		if n.Add(1)%3 == 0 {
			w.WriteHeader(429)
		}
	}))
	defer srv.Close()
	const conc, warm = 4, 100 * time.Millisecond
	for dur := 500 * time.Millisecond; ; dur *= 2 {
		before := n.Load()
		start := time.Now()
		res := run(context.Background(), srv.Client(), srv.URL, "x", []image{{[]byte("png"), "image/png"}}, conc, warm, dur)
		wall := time.Since(start)
		answered := n.Load() - before
		total := res.OK + res.Failed
		if res.Codes["200"] != res.OK || res.Codes["429"] != res.Failed || res.Codes["200"]+res.Codes["429"] != total {
			t.Fatalf("codes %v, ok %d, failed %d: want 200s and 429s, nothing else", res.Codes, res.OK, res.Failed)
		}
		if int64(total) > answered {
			t.Errorf("%d requests counted, the server answered %d", total, answered)
		}
		if res.Seconds < dur.Seconds() || res.Seconds > (wall-warm).Seconds() {
			t.Errorf("measured over %.3f s: want from %v (-d) to %.3f s (the run less the warm-up)", res.Seconds, dur, (wall - warm).Seconds())
		}
		if rate := float64(total) / res.Seconds; rate > 210 {
			t.Errorf("%.0f requests/s: 4 clients of 20 ms make at most 200", rate)
		}
		if total > 0 && (res.P50ms < 20 || res.P99ms < res.P50ms || res.Maxms < res.P99ms) {
			t.Errorf("p50 %.1f ms, p99 %.1f ms, max %.1f ms: want 20 ms ≤ p50 ≤ p99 ≤ max", res.P50ms, res.P99ms, res.Maxms)
		}
		if total >= 11 {
			if res.OK == 0 || res.Failed == 0 {
				t.Errorf("codes %v: want both 200s and 429s", res.Codes)
			}
			return
		}
		if dur >= 16*time.Second {
			t.Fatalf("%d requests measured in %v", total, dur)
		}
		t.Logf("%d requests measured in %v (a busy machine): again for twice as long", total, dur)
	}
}
