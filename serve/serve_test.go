package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/fixture"
)

// testServer is a Server on a real 127.0.0.1 listener, serving the shapes
// fixture as "shapes".
type testServer struct {
	*Server
	url string
}

// startServer serves the shapes fixture; tweak may set test hooks on the
// server and its model before the listener starts.
func startServer(t *testing.T, opts Options, tweak func(*Server)) *testServer {
	t.Helper()
	f := fixture.Load(t, "shapes")
	m, err := tfcam.Open(f.ModelDir, tfcam.Options{Preprocess: imagefile.Unit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv, err := New(opts, []Model{{Name: "shapes", Model: m}})
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return &testServer{Server: srv, url: "http://" + ln.Addr().String()}
}

// shapesImages are the fixture's evaluation images as PNG files.
func shapesImages(t *testing.T, n int) [][]byte {
	t.Helper()
	f := fixture.Load(t, "shapes")
	imgs := f.Array(t, "eval_images")
	h, w := imgs.Shape[1], imgs.Shape[2]
	var files [][]byte
	for i := range n {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				p := imgs.F32[((i*h+y)*w+x)*3:]
				img.SetNRGBA(x, y, color.NRGBA{uint8(p[0]*255 + 0.5), uint8(p[1]*255 + 0.5), uint8(p[2]*255 + 0.5), 255})
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		files = append(files, buf.Bytes())
	}
	return files
}

// answer is a decoded HTTP answer.
type answer struct {
	code   int
	header http.Header
	body   []byte
	resp   response
	err    errorBody
}

func post(t *testing.T, ctx context.Context, url, ct string, body []byte, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(req)
}

func do(req *http.Request) (answer, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	a := answer{code: res.StatusCode, header: res.Header}
	if a.body, err = io.ReadAll(res.Body); err != nil {
		return a, err
	}
	if res.StatusCode == http.StatusOK {
		json.Unmarshal(a.body, &a.resp)
	} else {
		json.Unmarshal(a.body, &a.err)
	}
	return a, nil
}

// explainJSON is a JSON :explain request for images.
func explainJSON(images [][]byte, extra map[string]any) []byte {
	var inst []map[string]string
	for _, im := range images {
		inst = append(inst, map[string]string{"b64": base64.StdEncoding.EncodeToString(im)})
	}
	body := map[string]any{"instances": inst}
	for k, v := range extra {
		body[k] = v
	}
	data, _ := json.Marshal(body)
	return data
}

// map16Values decodes a served 16-bit PNG map.
func map16Values(t *testing.T, b *binary) []uint16 {
	t.Helper()
	if b == nil {
		t.Fatal("no map16 in the answer")
	}
	data, err := base64.StdEncoding.DecodeString(b.B64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		t.Fatalf("map16 is %T, want a 16-bit grayscale PNG", img)
	}
	var v []uint16
	for y := range g.Rect.Dy() {
		for x := range g.Rect.Dx() {
			v = append(v, g.Gray16At(x, y).Y)
		}
	}
	return v
}

// TestBatching sends concurrent requests with mixed settings: they must
// run in fewer graph runs than requests, and each must get the answer it
// gets alone (no image or setting mixed up in a batch).
func TestBatching(t *testing.T) {
	// Requests alone: a server that does not wait for batch-mates.
	alone := startServer(t, Options{MaxBatch: 8, BatchTimeout: time.Millisecond, RequestTimeout: 5 * time.Minute}, nil)
	// Batches that leave only full (the timeouts are hang guards), however
	// slowly the requests arrive: the 16 requests are 2 batches of 8.
	s := startServer(t, Options{MaxBatch: 8, BatchTimeout: 2 * time.Minute, RequestTimeout: 5 * time.Minute}, nil)
	imgs := shapesImages(t, 8)
	type req struct {
		img   int
		extra map[string]any
	}
	var reqs []req
	for i := range 16 {
		extra := map[string]any{}
		switch i % 4 {
		case 1:
			extra["class"] = i % 4 // explicit classes ride together, one per image
		case 2:
			extra["class"] = "2"
		case 3:
			extra["method"] = "hirescam"
		}
		reqs = append(reqs, req{i % 8, extra})
	}
	// Alone, one after another: the reference answers.
	want := make([]response, len(reqs))
	for i, r := range reqs {
		a, err := post(t, context.Background(), alone.url+"/v1/models/shapes:explain", "application/json", explainJSON([][]byte{imgs[r.img]}, r.extra))
		if err != nil || a.code != 200 {
			t.Fatalf("request %d alone: %v %d %s", i, err, a.code, a.body)
		}
		want[i] = a.resp
	}
	if n := alone.Runs("shapes"); n != int64(len(reqs)) {
		t.Fatalf("%d sequential requests made %d runs", len(reqs), n)
	}
	before := s.Runs("shapes")
	got := make([]answer, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "application/json", explainJSON([][]byte{imgs[r.img]}, r.extra))
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		})
	}
	wg.Wait()
	runs := s.Runs("shapes") - before
	// Three settings groups (top1+gradcam, explicit classes, hirescam)
	// in 2 batches of 8: each group runs at least once, at most once per
	// batch: 3 to 6 runs, far fewer than 16.
	t.Logf("%d concurrent requests in %d runs", len(reqs), runs)
	if runs >= int64(len(reqs)/2) || runs < 3 {
		t.Errorf("%d concurrent requests made %d runs, want 3..%d", len(reqs), runs, len(reqs)/2-1)
	}
	for i, a := range got {
		if a.code != 200 {
			t.Fatalf("request %d: %d %s", i, a.code, a.body)
		}
		g, w := a.resp.Predictions[0], want[i].Predictions[0]
		if len(g.Maps) != len(w.Maps) || len(g.Maps) == 0 {
			t.Fatalf("request %d: %d maps, want %d", i, len(g.Maps), len(w.Maps))
		}
		for k := range g.Maps {
			if g.Maps[k].Method != w.Maps[k].Method || g.Maps[k].Class != w.Maps[k].Class {
				t.Errorf("request %d map %d: %s class %d, want %s class %d", i, k, g.Maps[k].Method, g.Maps[k].Class, w.Maps[k].Method, w.Maps[k].Class)
			}
			if c, ok := reqs[i].extra["class"].(int); ok && g.Maps[k].Class != c {
				t.Errorf("request %d: explained class %d, asked %d", i, g.Maps[k].Class, c)
			}
			gv, wv := map16Values(t, g.Maps[k].Map16), map16Values(t, w.Maps[k].Map16)
			if d := maxDiff16(gv, wv); d > 1 {
				t.Errorf("request %d map %d: batched map differs from the map alone by %d/65535", i, k, d)
			}
		}
	}
	// The counter is the one /metrics shows.
	if m := metric(t, s.url, "tfcam_serve_batch_runs_total"); m != float64(s.Runs("shapes")) {
		t.Errorf("/metrics batch runs %v, Runs %d", m, s.Runs("shapes"))
	}
}

// maxDiff16 is the largest difference of two maps. Batched runs may
// round differently from single-image ones (other kernels' blocking), by
// far less than a 16-bit step except at kinks.
func maxDiff16(a, b []uint16) int {
	if len(a) != len(b) {
		return 1 << 16
	}
	d := 0
	for i := range a {
		d = max(d, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return d
}

// metric reads one unlabelled-by-test series' value from /metrics.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			return v
		}
	}
	t.Fatalf("/metrics has no %s:\n%s", name, data)
	return 0
}

// slowRuns makes every graph run wait for release (or d when release is
// nil).
func slowRuns(d time.Duration, release chan struct{}) func(*Server) {
	return func(s *Server) {
		s.models["shapes"].testRun = func([]*job) error {
			if release != nil {
				<-release
			} else {
				time.Sleep(d)
			}
			return nil
		}
	}
}

// TestOverload fills the queue: the requests that do not fit are answered
// 429 with Retry-After, every other one is answered 200. The run is held
// until the refusals are in, so the outcome does not depend on how fast
// the requests come.
func TestOverload(t *testing.T) {
	release := make(chan struct{})
	s := startServer(t, Options{MaxBatch: 1, MaxQueue: 2, BatchTimeout: time.Millisecond, RequestTimeout: 2 * time.Minute}, slowRuns(0, release))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server's cleanup, which waits for the run
	img := shapesImages(t, 1)[0]
	const n = 10
	answers := make(chan answer, n)
	send := func() {
		a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", img)
		if err != nil {
			t.Error(err)
		}
		answers <- a
	}
	// One runs (held), then n-1 at once: two wait, the others cannot fit.
	go send()
	waitFor(t, "the first request to run", func() bool { return s.models["shapes"].b.depth() == 0 && s.inRun() })
	for range n - 1 {
		go send()
	}
	next := func() answer {
		select {
		case a := <-answers:
			return a
		case <-time.After(2 * time.Minute): // a hang guard
			t.Fatalf("no answer in 2 minutes: more than 2 requests waiting?")
			return answer{}
		}
	}
	count := map[int]int{}
	for range n - 3 { // answered while the run is held
		a := next()
		count[a.code]++
		if a.code == http.StatusTooManyRequests && a.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	unblock()
	for range 3 {
		count[next().code]++
	}
	t.Logf("answers: %v", count)
	if count[200] != 3 || count[429] != n-3 {
		t.Errorf("answers %v: want 3 × 200 (one run, two waiting) and %d × 429", count, n-3)
	}
	if got := s.Runs("shapes"); got != int64(count[200]) {
		t.Errorf("%d runs for %d accepted requests (max batch 1)", got, count[200])
	}
}

// TestTimeout: a request that cannot be answered within RequestTimeout
// is answered 504 and leaves the queue.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	s := startServer(t, Options{MaxBatch: 1, BatchTimeout: time.Millisecond, RequestTimeout: 300 * time.Millisecond}, slowRuns(0, release))
	defer close(release)
	img := shapesImages(t, 1)[0]
	start := time.Now()
	// The run is held until the test ends: only the timeout can answer.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	a, err := post(t, ctx, s.url+"/v1/models/shapes:explain", "image/png", img)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if a.code != http.StatusGatewayTimeout || !strings.Contains(a.err.Error, "request-timeout") {
		t.Errorf("answer %d %s, want 504 naming --request-timeout", a.code, a.body)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("answered after %v, before the request timeout (300ms)", el)
	}
}

// TestCancel: a client that goes away while its request waits frees its
// queue slot at once, and its image never runs.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	s := startServer(t, Options{MaxBatch: 1, MaxQueue: 1, BatchTimeout: time.Millisecond, RequestTimeout: 2 * time.Minute}, slowRuns(0, release))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server's cleanup, which waits for the run
	img := shapesImages(t, 1)[0]
	first := make(chan answer, 1)
	go func() {
		a, _ := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", img)
		first <- a
	}()
	waitFor(t, "the first request to run", func() bool { return s.models["shapes"].b.depth() == 0 && s.Runs("shapes") == 0 && s.inRun() })
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := post(t, ctx, s.url+"/v1/models/shapes:explain", "image/png", img)
		second <- err
	}()
	waitFor(t, "the second request to queue", func() bool { return s.models["shapes"].b.depth() == 1 })
	// The queue is full: a third request is refused.
	if a, _ := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", img); a.code != http.StatusTooManyRequests {
		t.Fatalf("third request with a full queue: %d %s, want 429", a.code, a.body)
	}
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	// Its slot is free before the first run ends.
	waitFor(t, "the cancelled request to leave the queue", func() bool { return s.models["shapes"].b.depth() == 0 })
	unblock()
	if a := <-first; a.code != 200 {
		t.Fatalf("first request: %d %s", a.code, a.body)
	}
	// A later request runs after anything still queued (one image a run):
	// once it is answered, the cancelled image has run or never will.
	if a, _ := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", img); a.code != 200 {
		t.Fatalf("request after the cancel: %d %s", a.code, a.body)
	}
	if got := s.Runs("shapes"); got != 2 {
		t.Errorf("%d runs, want 2 (the first request and the one after): the cancelled image must not run", got)
	}
	if m := metric(t, s.url, "tfcam_serve_queue_depth"); m != 0 {
		t.Errorf("queue depth gauge %v after the cancel, want 0", m)
	}
}

// inRun reports whether a batch is running (test hook: the slow run is
// blocked).
func (s *Server) inRun() bool {
	b := s.models["shapes"].b
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBatchFailureStaysPerImage: when a batch's run fails because of one
// image, the batch is retried image by image and only that image fails.
func TestBatchFailureStaysPerImage(t *testing.T) {
	imgs := shapesImages(t, 6)
	var poison float32 // the first pixel of image 0's model input
	s := startServer(t, Options{MaxBatch: 8, BatchTimeout: 300 * time.Millisecond}, func(s *Server) {
		d, err := s.models["shapes"].dec.Decode(context.Background(), imgs[0], "poison")
		if err != nil {
			t.Fatal(err)
		}
		poison = d.Pixels[0] + d.Pixels[1] + d.Pixels[100]
		d.Release()
		s.models["shapes"].testRun = func(jobs []*job) error {
			for _, j := range jobs {
				if j.pixels[0]+j.pixels[1]+j.pixels[100] == poison {
					return errors.New("simulated TensorFlow failure")
				}
			}
			return nil
		}
	})
	codes := make([]int, len(imgs))
	var wg sync.WaitGroup
	for i := range imgs {
		wg.Go(func() {
			a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", imgs[i])
			if err != nil {
				t.Error(err)
			}
			codes[i] = a.code
		})
	}
	wg.Wait()
	if codes[0] != http.StatusInternalServerError {
		t.Errorf("poisoned image: %d, want 500", codes[0])
	}
	for i, c := range codes[1:] {
		if c != 200 {
			t.Errorf("image %d batched with the poisoned one: %d, want 200", i+1, c)
		}
	}
}

// TestRequestErrors are the answers to bad requests, each with its status
// and a message that says what is wrong.
func TestRequestErrors(t *testing.T) {
	s := startServer(t, Options{MaxBodyBytes: 64 << 10, Token: "s3cret"}, nil)
	img := shapesImages(t, 1)[0]
	var big bytes.Buffer
	jpeg.Encode(&big, noise(400, 400), &jpeg.Options{Quality: 100})
	auth := []string{"Authorization", "Bearer s3cret"}
	tests := []struct {
		name   string
		method string
		path   string
		ct     string
		body   []byte
		header []string
		code   int
		want   string
	}{
		{"ok", "POST", "/v1/models/shapes:explain", "image/png", img, auth, 200, ""},
		{"no token", "POST", "/v1/models/shapes:explain", "image/png", img, nil, 401, "bearer token"},
		{"wrong token", "POST", "/v1/models/shapes:explain", "image/png", img, []string{"Authorization", "Bearer nope"}, 401, "bearer token"},
		{"status needs the token", "GET", "/v1/models/shapes", "", nil, nil, 401, "bearer token"},
		{"metrics need the token", "GET", "/metrics", "", nil, nil, 401, "bearer token"},
		{"healthz is open", "GET", "/healthz", "", nil, nil, 200, ""},
		{"readyz is open", "GET", "/readyz", "", nil, nil, 200, ""},
		{"oversized body", "POST", "/v1/models/shapes:explain", "image/jpeg", big.Bytes(), auth, 413, "larger than 65536 bytes"},
		{"corrupt image", "POST", "/v1/models/shapes:explain", "image/png", img[:len(img)/2], auth, 400, "instance 0"},
		{"not an image", "POST", "/v1/models/shapes:explain", "image/jpeg", []byte("%PDF-1.4 hello"), auth, 400, "PDF"},
		{"empty body", "POST", "/v1/models/shapes:explain", "image/png", nil, auth, 400, "empty body"},
		{"bad JSON", "POST", "/v1/models/shapes:explain", "application/json", []byte(`{"instances": [`), auth, 400, "JSON body"},
		{"unknown field", "POST", "/v1/models/shapes:explain", "application/json", []byte(`{"instances": [{"b64": "AA=="}], "mehtod": "x"}`), auth, 400, "mehtod"},
		{"no instances", "POST", "/v1/models/shapes:explain", "application/json", []byte(`{"instances": []}`), auth, 400, "no instances"},
		{"bad base64", "POST", "/v1/models/shapes:explain", "application/json", []byte(`{"instances": [{"b64": "!!"}]}`), auth, 400, "b64"},
		{"bad method", "POST", "/v1/models/shapes:explain?method=gradcan", "image/png", img, auth, 400, "gradcan"},
		{"class out of range", "POST", "/v1/models/shapes:explain?class=4", "image/png", img, auth, 400, "0..3"},
		{"class label misspelt", "POST", "/v1/models/shapes:explain?class=triangel", "image/png", img, auth, 400, `did you mean "triangle" (2)`},
		{"top-k beyond classes", "POST", "/v1/models/shapes:explain?class=top5", "image/png", img, auth, 400, "1..4"},
		{"bad output", "POST", "/v1/models/shapes:explain?output=jpeg", "image/png", img, auth, 400, "output"},
		{"bad content type", "POST", "/v1/models/shapes:explain", "text/plain", img, auth, 400, "Content-Type"},
		{"unknown model", "POST", "/v1/models/nope:explain", "image/png", img, auth, 404, `no model "nope"`},
		{"path in name", "POST", "/v1/models/..%2F..%2Fetc:explain", "image/png", img, auth, 404, "no model"},
		{"unknown verb", "POST", "/v1/models/shapes:classify", "image/png", img, auth, 404, ":classify"},
		{"GET explain", "GET", "/v1/models/shapes:explain", "", nil, auth, 405, "use POST"},
		{"unknown path", "GET", "/v2/x", "", nil, auth, 404, "openapi.json"},
		{"scheme in lower case", "POST", "/v1/models/shapes:explain", "image/png", img, []string{"Authorization", "bearer s3cret"}, 200, ""},
		{"scheme in upper case", "POST", "/v1/models/shapes:explain", "image/png", img, []string{"Authorization", "BEARER s3cret"}, 200, ""},
		{"token case matters", "POST", "/v1/models/shapes:explain", "image/png", img, []string{"Authorization", "Bearer S3CRET"}, 401, "bearer token"},
		{"no scheme", "POST", "/v1/models/shapes:explain", "image/png", img, []string{"Authorization", "s3cret"}, 401, "bearer token"},
		{"trailing garbage", "POST", "/v1/models/shapes:explain", "application/json",
			[]byte(`{"instances": [{"b64": "` + base64.StdEncoding.EncodeToString(img) + `"}]} {"x": 1}`), auth, 400, "more after"},
		{"huge method not echoed", "POST", "/v1/models/shapes:explain?method=" + strings.Repeat("x", 100000), "image/png", img, auth, 400, "bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.url+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			a, err := do(req)
			if err != nil {
				t.Fatal(err)
			}
			if a.code != tt.code || !strings.Contains(a.err.Error, tt.want) {
				t.Errorf("%d %.300s, want %d with %q", a.code, a.body, tt.code, tt.want)
			}
			if a.code != http.StatusOK && len(a.body) > 2000 {
				t.Errorf("answer of %d bytes: a request's text echoed back", len(a.body))
			}
		})
	}
}

// noise is an image that compresses badly.
func noise(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
	}
	return img
}

// TestPanicRecovered: a handler that panics is answered 500 and the
// server goes on answering.
func TestPanicRecovered(t *testing.T) {
	var once sync.Once
	s := startServer(t, Options{}, func(s *Server) {
		s.testPanic = func() { once.Do(func() { panic("boom") }) }
	})
	img := shapesImages(t, 1)[0]
	for i, want := range []int{500, 200} {
		a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain", "image/png", img)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if a.code != want {
			t.Errorf("request %d: %d %s, want %d", i, a.code, a.body, want)
		}
	}
}
