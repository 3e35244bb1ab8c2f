// Package fakes3 runs an S3-compatible server on 127.0.0.1 for tests
// (gofakes3 with its in-memory backend), with faults that can be switched
// on: a share of requests answered 503 or cut off by closing the
// connection, as a throttled or flaky object store does.
package fakes3

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3 endpoint.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:port).
	Endpoint string
	backend  *s3mem.Backend
	srv      *httptest.Server

	mu       sync.Mutex
	failEach int // every failEach-th request fails (0: none)
	count    atomic.Int64
	failed   atomic.Int64
}

// Start runs a server until the test ends and sets the AWS variables the
// SDK's credential chain reads (the server checks no signatures), in the
// test's environment and so in the commands it starts.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{backend: s3mem.New()}
	fake := gofakes3.New(s.backend)
	s.srv = httptest.NewServer(s.faults(fake.Server()))
	t.Cleanup(s.srv.Close)
	s.Endpoint = s.srv.URL
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "tfcam-test", "AWS_SECRET_ACCESS_KEY": "tfcam-test", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	return s
}

// URL is an s3:// URL for bucket/prefix on this server.
func (s *Server) URL(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=us-east-1", bucket, prefix, s.Endpoint)
}

// CreateBucket makes an empty bucket.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
}

// Put stores an object directly in the backend (no faults).
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, err := s.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// Get reads an object directly from the backend; ok is false when absent.
func (s *Server) Get(t testing.TB, bucket, key string) (data []byte, ok bool) {
	t.Helper()
	obj, err := s.backend.GetObject(bucket, key, nil)
	if err != nil {
		return nil, false
	}
	defer obj.Contents.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(obj.Contents); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), true
}

// Keys lists every key of bucket, sorted.
func (s *Server) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	page := gofakes3.ListBucketPage{}
	for {
		res, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Contents {
			keys = append(keys, c.Key)
		}
		if !res.IsTruncated || res.NextMarker == "" {
			break
		}
		page = gofakes3.ListBucketPage{Marker: res.NextMarker, HasMarker: true}
	}
	sort.Strings(keys)
	return keys
}

// FailEach makes every n-th request fail (n ≤ 0: none): odd failures are
// answered 503 SlowDown, even ones cut off by closing the connection.
func (s *Server) FailEach(n int) {
	s.mu.Lock()
	s.failEach = n
	s.mu.Unlock()
}

// Requests and Failed count the requests seen and those failed on purpose.
func (s *Server) Requests() int64 { return s.count.Load() }

// Failed counts the requests failed on purpose.
func (s *Server) Failed() int64 { return s.failed.Load() }

func (s *Server) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.count.Add(1)
		s.mu.Lock()
		each := s.failEach
		s.mu.Unlock()
		if each > 0 && n%int64(each) == 0 {
			k := s.failed.Add(1)
			if k%2 == 0 {
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
						return
					}
				}
			}
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected fault</Message></Error>`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
