// Package fakes3 runs an S3-compatible server on 127.0.0.1 for tests
// (gofakes3 with its in-memory backend), with faults that can be switched
// on: a share of requests answered 503 or cut off by closing the
// connection, as a throttled or flaky object store does.
//
// The server is a program of its own, in the nested module
// internal/fakes3/server, so that gofakes3 stays out of tfcam's go.mod and
// out of every embedder's module graph. Start runs it as a subprocess: the
// binary named by $TFCAM_FAKES3 when set, else one built from that module
// (once, then reused while its sources are unchanged: see binary). Put,
// Get, Keys, CreateBucket, the fault switch and the counters go to the
// server's control requests (/_fakes3/...), which bypass the faults and are
// not counted, as the direct backend calls they replace were not.
package fakes3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvBinary names an environment variable: when set, the fake S3 server
// binary to run instead of building internal/fakes3/server.
const EnvBinary = "TFCAM_FAKES3"

// Server is a running fake S3 endpoint.
type Server struct {
	// Endpoint is the server's base URL (http://127.0.0.1:port).
	Endpoint string

	t      testing.TB // the test that started it: FailEach, Requests and Failed report to it
	client *http.Client
}

// Start runs a server until the test ends and sets the AWS variables the
// SDK's credential chain reads (the server checks no signatures), in the
// test's environment and so in the commands it starts. It fails the test
// (never skips it) when the server cannot be built or started.
//
// The server is a subprocess that exits when its stdin closes: at the
// test's end, or with the test binary however that ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("fakes3: %v", err)
	}
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("fakes3: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("fakes3: %v", err)
	}
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("fakes3: starting the fake S3 server %s: %v (%s)", bin, err, howToBuild())
	}
	firstLine, exited := make(chan startResult, 1), make(chan error, 1)
	go func() {
		// The first line is the base URL; read it before Wait (which
		// closes stdout), then nothing more comes.
		line, err := bufio.NewReader(stdout).ReadString('\n')
		firstLine <- startResult{strings.TrimSpace(line), err}
		exited <- cmd.Wait()
	}()
	stop := func() error {
		stdin.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			return errors.New("still running 10 s after its stdin closed: killed")
		}
	}
	var first startResult
	select {
	case first = <-firstLine:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("fakes3: the fake S3 server %s printed no URL in a minute; stderr:\n%s", bin, stderr)
	}
	if first.err != nil || !strings.HasPrefix(first.url, "http://") {
		stop()
		t.Fatalf("fakes3: the fake S3 server %s did not start (first line %q, %v); stderr:\n%s", bin, first.url, first.err, stderr)
	}
	t.Cleanup(func() {
		// Exit status 0 is the only normal end; anything else (or a
		// word on stderr) is shown with the test's log.
		if err := stop(); err != nil || stderr.String() != "" {
			t.Logf("fakes3: server %s: %v; stderr:\n%s", first.url, err, stderr)
		}
	})
	s := &Server{
		Endpoint: first.url,
		t:        t,
		client:   &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 2 * time.Minute},
	}
	t.Cleanup(s.client.CloseIdleConnections)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "tfcam-test", "AWS_SECRET_ACCESS_KEY": "tfcam-test", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	return s
}

type startResult struct {
	url string
	err error
}

// URL is an s3:// URL for bucket/prefix on this server.
func (s *Server) URL(bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true&region=us-east-1", bucket, prefix, s.Endpoint)
}

// CreateBucket makes an empty bucket.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if _, _, err := s.control(http.MethodPut, "bucket", url.Values{"name": {name}}, nil); err != nil {
		t.Fatal(err)
	}
}

// Put stores an object directly in the backend (no faults, not counted).
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, _, err := s.control(http.MethodPut, "object", url.Values{"bucket": {bucket}, "key": {key}}, data); err != nil {
		t.Fatal(err)
	}
}

// Get reads an object directly from the backend (no faults, not counted);
// ok is false when absent.
func (s *Server) Get(t testing.TB, bucket, key string) (data []byte, ok bool) {
	t.Helper()
	data, code, err := s.control(http.MethodGet, "object", url.Values{"bucket": {bucket}, "key": {key}}, nil)
	if code == http.StatusNotFound {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// Keys lists every key of bucket, sorted (no faults, not counted).
func (s *Server) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	data, _, err := s.control(http.MethodGet, "keys", url.Values{"bucket": {bucket}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("fakes3: keys of %s: %v", bucket, err)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return keys
}

// FailEach makes every n-th request fail (n ≤ 0: none): odd failures are
// answered 503 SlowDown, even ones cut off by closing the connection.
// Like Requests and Failed, it fails the test given to Start on error, so
// call it from that test's goroutine.
func (s *Server) FailEach(n int) {
	s.t.Helper()
	if n < 0 {
		n = 0
	}
	if _, _, err := s.control(http.MethodPost, "fail", url.Values{"each": {fmt.Sprint(n)}}, nil); err != nil {
		s.t.Fatal(err)
	}
}

// Requests counts the requests seen (the S3 API's; not the control
// requests of Put, Get, Keys and the rest).
func (s *Server) Requests() int64 { s.t.Helper(); return s.stats().Requests }

// Failed counts the requests failed on purpose.
func (s *Server) Failed() int64 { s.t.Helper(); return s.stats().Failed }

type stats struct {
	Requests int64 `json:"requests"`
	Failed   int64 `json:"failed"`
}

func (s *Server) stats() stats {
	s.t.Helper()
	data, _, err := s.control(http.MethodGet, "stats", nil, nil)
	var st stats
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		s.t.Fatalf("fakes3: stats: %v", err)
	}
	return st
}

// control makes one control request (see internal/fakes3/server) and
// returns the body of a 2xx answer; the status code is returned with the
// error of any other.
func (s *Server) control(method, op string, query url.Values, body []byte) ([]byte, int, error) {
	u := s.Endpoint + "/_fakes3/" + op
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fakes3: %s %s: %w (has the server died?)", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("fakes3: %s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode, fmt.Errorf("fakes3: %s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(data)))
	}
	return data, resp.StatusCode, nil
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary is the server program: $TFCAM_FAKES3, else a build of
// internal/fakes3/server kept in the user's cache directory under the
// digest of that module's files, so it is built once (by whichever test
// binary needs it first, the others of a `go test ./...` reuse it) and
// again only when its sources change. Built at most once per test binary.
func binary() (string, error) {
	binOnce.Do(func() { binPath, binErr = findOrBuild() })
	return binPath, binErr
}

func findOrBuild() (string, error) {
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("$%s: %v (%s)", EnvBinary, err, howToBuild())
		}
		return bin, nil
	}
	dir, err := serverDir()
	if err != nil {
		return "", fmt.Errorf("%v (%s)", err, howToBuild())
	}
	sum, err := digest(dir, buildFlags)
	if err != nil {
		return "", fmt.Errorf("reading %s: %v", dir, err)
	}
	cache, err := os.UserCacheDir()
	if err == nil {
		cache = filepath.Join(cache, "tfcam")
		err = os.MkdirAll(cache, 0o755)
	}
	if err != nil {
		cache = filepath.Join(os.TempDir(), fmt.Sprintf("tfcam-cache-%d", os.Getuid()))
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(cache, "fakes3-server-"+sum)
	if _, err := os.Stat(bin); err == nil {
		now := time.Now()
		os.Chtimes(bin, now, now) // its last use, for prune
		return bin, nil
	}
	// Built into a directory of its own and renamed into place: test
	// binaries building at once each get a whole file, and this process
	// never holds a file it will execute open for writing (ETXTBSY).
	tmp, err := os.MkdirTemp(cache, "fakes3-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// With the test's own environment and flags (no -trimpath, cgo as
	// the tests have it), so that the standard library's packages come
	// from the build cache the test binaries filled.
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build", "-C", dir}, buildFlags...), "-o", out, ".")...)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the fake S3 server failed: go build -C %s -o %s .: %v\n%s\n(%s)", dir, out, err, msg, howToBuild())
	}
	if err := os.Rename(out, bin); err != nil {
		return "", err
	}
	prune(cache, bin)
	return bin, nil
}

// buildFlags are go build's flags for the server (besides -C and -o).
var buildFlags = []string{"-buildvcs=false"}

// prune removes the server builds of other sources unused for a week
// (a cache hit refreshes a build's modification time) and build
// directories left by killed builds.
func prune(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(cache, e.Name())
		info, err := e.Info()
		if err != nil || path == keep {
			continue
		}
		age := time.Since(info.ModTime())
		if strings.HasPrefix(e.Name(), "fakes3-server-") && age > 7*24*time.Hour ||
			strings.HasPrefix(e.Name(), "fakes3-build-") && age > 24*time.Hour {
			os.RemoveAll(path)
		}
	}
}

func howToBuild() string {
	return "the fake S3 server is the module internal/fakes3/server: `make setup` downloads its modules " +
		"(cd internal/fakes3/server && go mod download); tests build it with `go build` on the PATH, " +
		"or build it yourself with `cd internal/fakes3/server && go build -o /some/dir/fakes3-server .` " +
		"and set " + EnvBinary + "=/some/dir/fakes3-server"
}

// serverDir is internal/fakes3/server in this checkout: next to this
// source file, or (built with -trimpath) found from `go env GOMOD`.
func serverDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "server")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("cannot find internal/fakes3/server: `go env GOMOD`: %q, %v", gomod, err)
	}
	dir := filepath.Join(filepath.Dir(gomod), "internal", "fakes3", "server")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot find internal/fakes3/server: %v", err)
	}
	return dir, nil
}

// digest is a hex digest of the regular files directly in dir (the
// server's sources, go.mod and go.sum), the build flags, the Go version
// and the platform, naming a build of them.
func digest(dir string, flags []string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s %q\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, flags)
	for _, e := range entries { // sorted by name
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// lockedBuffer collects a subprocess's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
