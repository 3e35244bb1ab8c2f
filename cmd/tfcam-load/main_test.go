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
// that takes 20 ms and refuses every third request.
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
	res := run(context.Background(), srv.Client(), srv.URL, "x", []image{{[]byte("png"), "image/png"}}, 4, 100*time.Millisecond, 500*time.Millisecond)
	total := res.OK + res.Failed
	if res.OK == 0 || res.Codes["429"] == 0 || res.Codes["200"] != res.OK || res.Codes["429"] != res.Failed {
		t.Fatalf("codes %v, ok %d, failed %d: want 200s and 429s, nothing else", res.Codes, res.OK, res.Failed)
	}
	// 4 clients × 20 ms per request: about 200 requests/s in all.
	if rate := float64(total) / res.Seconds; rate < 100 || rate > 210 {
		t.Errorf("%.0f requests/s, want about 200 (4 clients, 20 ms each)", rate)
	}
	if res.P50ms < 20 || res.P99ms < res.P50ms {
		t.Errorf("p50 %.1f ms, p99 %.1f ms: want p50 ≥ 20 ms ≤ p99", res.P50ms, res.P99ms)
	}
}
