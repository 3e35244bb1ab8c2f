// Command server is the fake S3 that tfcam's tests run (internal/fakes3):
// gofakes3 with its in-memory backend on 127.0.0.1, with faults that can be
// switched on — a share of requests answered 503 or cut off by closing the
// connection, as a throttled or flaky object store does.
//
// It is a module of its own so that gofakes3 stays out of tfcam's go.mod
// and so out of every embedder's module graph.
//
// It prints its base URL (http://127.0.0.1:port) as the first line on
// stdout and exits when its stdin closes, so it dies with the process that
// started it. Besides the S3 API it answers control requests under
// /_fakes3/ (not a valid bucket name, so no S3 path collides with them);
// they bypass the faults and are not counted:
//
//	POST /_fakes3/fail?each=N            every N-th S3 request fails (N ≤ 0: none)
//	GET  /_fakes3/stats                  {"requests":n,"failed":m}
//	PUT  /_fakes3/bucket?name=B          create bucket B
//	PUT  /_fakes3/object?bucket=B&key=K  store the body as B/K
//	GET  /_fakes3/object?bucket=B&key=K  the object (404 when absent)
//	GET  /_fakes3/keys?bucket=B          every key of B, sorted (JSON array)
//
// ListObjectsV2 is answered by the wrapper itself (listV2), as S3 answers
// it with and without encoding-type=url; everything else is gofakes3's.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// ControlPrefix is the path under which the control requests live.
const ControlPrefix = "/_fakes3/"

type server struct {
	backend  *s3mem.Backend
	s3       http.Handler
	failEach atomic.Int64 // every failEach-th request fails (0: none)
	count    atomic.Int64
	failed   atomic.Int64
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	failEach := flag.Int("fail-each", 0, "fail every n-th S3 request from the start (0: none)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("fakes3 server: ")

	s := &server{backend: s3mem.New()}
	s.s3 = gofakes3.New(s.backend).Server()
	s.failEach.Store(int64(*failEach))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The first stdout line is the contract with the starter: flushed
	// before serving, nothing else is ever written to stdout.
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	if err := out.Flush(); err != nil {
		log.Fatal(err)
	}
	go func() {
		// Ends at EOF (the starter closed the pipe or died) or on any
		// read error; either way the server is no longer wanted.
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, s))
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) >= len(ControlPrefix) && r.URL.Path[:len(ControlPrefix)] == ControlPrefix {
		s.control(w, r, r.URL.Path[len(ControlPrefix):])
		return
	}
	n := s.count.Add(1)
	if each := s.failEach.Load(); each > 0 && n%each == 0 {
		// Odd failures are answered 503 SlowDown, even ones cut off by
		// closing the connection.
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
	if q := r.URL.Query(); r.Method == http.MethodGet && q.Get("list-type") == "2" {
		if bucket := strings.Trim(r.URL.Path, "/"); bucket != "" && !strings.Contains(bucket, "/") {
			s.listV2(w, bucket, q)
			return
		}
	}
	s.s3.ServeHTTP(w, r)
}

// listV2 answers ListObjectsV2 as S3 does where gofakes3 does not: with
// encoding-type=url every key and prefix is URL-encoded (and said so in
// <EncodingType>); without it keys are written as they are, control
// characters included — which no XML 1.0 parser accepts, so a client
// listing such a key without encoding-type=url fails as it does on S3.
func (s *server) listV2(w http.ResponseWriter, bucket string, q url.Values) {
	encode := func(k string) string { return xmlText(k) }
	enc := q.Get("encoding-type")
	if enc == "url" {
		encode = func(k string) string { return xmlText(url.QueryEscape(k)) }
	}
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < maxKeys {
			maxKeys = n
		}
	}
	prefix := gofakes3.Prefix{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter")}
	_, prefix.HasPrefix = q["prefix"]
	_, prefix.HasDelimiter = q["delimiter"]
	page := gofakes3.ListBucketPage{MaxKeys: int64(maxKeys)}
	if t := q.Get("continuation-token"); t != "" {
		page.Marker, page.HasMarker = t, true
	}
	res, err := s.backend.ListBucket(bucket, &prefix, page)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>%s</Message></Error>`, xmlText(err.Error()))
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	fmt.Fprintf(&b, "<Name>%s</Name><Prefix>%s</Prefix><MaxKeys>%d</MaxKeys><KeyCount>%d</KeyCount>",
		xmlText(bucket), encode(prefix.Prefix), maxKeys, len(res.Contents)+len(res.CommonPrefixes))
	if enc == "url" {
		b.WriteString("<EncodingType>url</EncodingType>")
	}
	if prefix.HasDelimiter {
		fmt.Fprintf(&b, "<Delimiter>%s</Delimiter>", encode(prefix.Delimiter))
	}
	last := ""
	for _, c := range res.Contents {
		fmt.Fprintf(&b, "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>",
			encode(c.Key), c.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"), xmlText(c.ETag), c.Size)
		last = c.Key
	}
	for _, p := range res.CommonPrefixes {
		fmt.Fprintf(&b, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>", encode(p.Prefix))
		if p.Prefix > last {
			last = p.Prefix
		}
	}
	fmt.Fprintf(&b, "<IsTruncated>%t</IsTruncated>", res.IsTruncated)
	if res.IsTruncated {
		next := res.NextMarker
		if next == "" {
			next = last
		}
		fmt.Fprintf(&b, "<NextContinuationToken>%s</NextContinuationToken>", xmlText(next))
	}
	b.WriteString("</ListBucketResult>")
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, b.String())
}

// xmlText escapes XML's markup characters and nothing else: control
// characters pass through, as S3 writes them.
func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

func (s *server) control(w http.ResponseWriter, r *http.Request, op string) {
	q := r.URL.Query()
	fail := func(code int, err error) { http.Error(w, err.Error(), code) }
	method := func(want string) bool {
		if r.Method != want {
			fail(http.StatusMethodNotAllowed, fmt.Errorf("%s %s%s: want %s", r.Method, ControlPrefix, op, want))
			return false
		}
		return true
	}
	switch op {
	case "fail":
		if !method(http.MethodPost) {
			return
		}
		n, err := strconv.ParseInt(q.Get("each"), 10, 64)
		if err != nil {
			fail(http.StatusBadRequest, fmt.Errorf("each: %v", err))
			return
		}
		if n < 0 {
			n = 0
		}
		s.failEach.Store(n)
	case "stats":
		if !method(http.MethodGet) {
			return
		}
		// failed is read before count so that failed ≤ requests holds
		// in every answer.
		failed := s.failed.Load()
		writeJSON(w, map[string]int64{"requests": s.count.Load(), "failed": failed})
	case "bucket":
		if !method(http.MethodPut) {
			return
		}
		if err := s.backend.CreateBucket(q.Get("name")); err != nil {
			fail(http.StatusConflict, err)
		}
	case "object":
		bucket, key := q.Get("bucket"), q.Get("key")
		switch r.Method {
		case http.MethodPut:
			data, err := io.ReadAll(r.Body)
			if err != nil {
				fail(http.StatusBadRequest, err)
				return
			}
			if _, err := s.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
				fail(http.StatusInternalServerError, err)
			}
		case http.MethodGet:
			obj, err := s.backend.GetObject(bucket, key, nil)
			if err != nil {
				fail(http.StatusNotFound, err)
				return
			}
			defer obj.Contents.Close()
			data, err := io.ReadAll(obj.Contents)
			if err != nil {
				fail(http.StatusInternalServerError, err)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data)
		default:
			fail(http.StatusMethodNotAllowed, fmt.Errorf("%s %sobject: want GET or PUT", r.Method, ControlPrefix))
		}
	case "keys":
		if !method(http.MethodGet) {
			return
		}
		keys := []string{}
		page := gofakes3.ListBucketPage{}
		for {
			res, err := s.backend.ListBucket(q.Get("bucket"), &gofakes3.Prefix{}, page)
			if err != nil {
				fail(http.StatusNotFound, err)
				return
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
		writeJSON(w, keys)
	default:
		fail(http.StatusNotFound, fmt.Errorf("no control request %s%s", ControlPrefix, op))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
