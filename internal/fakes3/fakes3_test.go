package fakes3

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// TestServer checks the helper against its server program: objects put
// through the control requests are served by the S3 API, listings are
// complete past a page, control requests are neither counted nor failed,
// and FailEach fails exactly every n-th S3 request, 503 and cut connection
// in turn.
func TestServer(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "bkt")
	const n = 1234 // more than a listing page (1000)
	for i := range n {
		s.Put(t, "bkt", fmt.Sprintf("k/%05d", i), []byte(fmt.Sprint(i)))
	}
	if data, ok := s.Get(t, "bkt", "k/00042"); !ok || string(data) != "42" {
		t.Fatalf("Get: %q, %v", data, ok)
	}
	if data, ok := s.Get(t, "bkt", "absent"); ok {
		t.Fatalf("Get of an absent key: %q, %v", data, ok)
	}
	if data, ok := s.Get(t, "nobucket", "k/00042"); ok {
		t.Fatalf("Get from an absent bucket: %q, %v", data, ok)
	}
	keys := s.Keys(t, "bkt")
	if len(keys) != n || keys[0] != "k/00000" || keys[n-1] != fmt.Sprintf("k/%05d", n-1) {
		t.Fatalf("Keys: %d keys, want %d", len(keys), n)
	}
	s.CreateBucket(t, "empty")
	if keys := s.Keys(t, "empty"); keys != nil {
		t.Fatalf("Keys of an empty bucket: %q", keys)
	}
	if got := s.Requests(); got != 0 {
		t.Fatalf("%d requests counted before any S3 request", got)
	}

	// No keep-alive: a cut connection is never retried by the transport.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	get := func() (int, string, error) {
		resp, err := client.Get(s.Endpoint + "/bkt/k/00007")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	if code, body, err := get(); err != nil || code != 200 || body != "7" {
		t.Fatalf("S3 GET: %d %q %v", code, body, err)
	}
	s.FailEach(2)
	var outcomes []string
	for range 6 {
		code, _, err := get()
		switch {
		case err != nil:
			outcomes = append(outcomes, "cut")
		default:
			outcomes = append(outcomes, fmt.Sprint(code))
		}
		s.Keys(t, "bkt") // not counted, not failed
	}
	// Requests 2..7: the even ones fail, the first failure answered 503,
	// the second cut, the third 503.
	if want := fmt.Sprint([]string{"503", "200", "cut", "200", "503", "200"}); fmt.Sprint(outcomes) != want {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
	if r, f := s.Requests(), s.Failed(); r != 7 || f != 3 {
		t.Errorf("Requests %d, Failed %d; want 7, 3", r, f)
	}
	s.FailEach(0)
	for range 4 {
		if code, _, err := get(); err != nil || code != 200 {
			t.Fatalf("with faults off: %d %v", code, err)
		}
	}
}

// TestServerEnds checks that a server stops with its test.
func TestServerEnds(t *testing.T) {
	var endpoint string
	t.Run("run", func(t *testing.T) {
		s := Start(t)
		endpoint = s.Endpoint
		s.CreateBucket(t, "b")
	})
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	if resp, err := client.Get(endpoint + "/_fakes3/stats"); err == nil {
		resp.Body.Close()
		t.Fatalf("the server at %s still answers after its test ended", endpoint)
	}
}
