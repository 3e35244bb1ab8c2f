package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fixture"
)

// served is a `tfcam serve` process started by a test.
type served struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func (s *served) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startServe runs this test binary as `tfcam serve ARGS --addr
// 127.0.0.1:0` and waits for its listening line.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(append([]string{"serve"}, args...), "--addr", "127.0.0.1:0")...)
	cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
	return startServeCmd(t, cmd)
}

// startServeCmd starts cmd, a `tfcam serve` on port 0, keeps its stderr and
// waits for its listening line: url is then its host:port.
func startServeCmd(t *testing.T, cmd *exec.Cmd) *served {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "tfcam serve: listening on "); ok {
				u := strings.TrimSuffix(strings.Fields(rest)[0], ",")
				_, hostPort, _ := strings.Cut(u, "://")
				addr <- hostPort
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case a := <-addr:
		s.url = a
	case err := <-s.done:
		t.Fatalf("tfcam serve (%s) exited (%v):\n%s", strings.Join(cmd.Args, " "), err, s.stderr())
	case <-time.After(3 * time.Minute): // a hang guard
		t.Fatalf("tfcam serve (%s) did not start in 3 minutes:\n%s", strings.Join(cmd.Args, " "), s.stderr())
	}
	return s
}

// wait waits for the process to exit and returns its exit code.
func (s *served) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(3 * time.Minute): // a hang guard
		t.Fatalf("tfcam serve did not exit in 3 minutes:\n%s", s.stderr())
		return -1
	}
}

// serveAnswer is the part of an :explain answer the tests read.
type serveAnswer struct {
	Method      string `json:"method"`
	Predictions []struct {
		Class int `json:"class"`
		Maps  []struct {
			Method string `json:"method"`
			Class  int    `json:"class"`
			Map16  struct {
				B64 string `json:"b64"`
			} `json:"map16"`
		} `json:"maps"`
	} `json:"predictions"`
}

func postImage(client *http.Client, url, ct string, body []byte, token string) (int, serveAnswer, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, serveAnswer{}, "", err
	}
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, serveAnswer{}, "", err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	var a serveAnswer
	if res.StatusCode == http.StatusOK {
		err = errors.Join(err, json.Unmarshal(data, &a))
	}
	return res.StatusCode, a, string(data), err
}

func gray16Values(t *testing.T, data []byte, what string) []uint16 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		t.Fatalf("%s is %T, want 16-bit gray", what, img)
	}
	var v []uint16
	for y := range g.Rect.Dy() {
		for x := range g.Rect.Dx() {
			v = append(v, g.Gray16At(x, y).Y)
		}
	}
	return v
}

// TestServeMatchesExplain: for the same files and settings, the maps
// `tfcam serve` answers decode to exactly the values of the map16 files
// `tfcam explain --save map16` writes, for PNGs sent as JSON and JPEGs
// sent raw (a 1600×1200 JPEG, which explain decodes with DCT scaling
// chosen from its overlay size).
func TestServeMatchesExplain(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 4)
	// A large JPEG of image 0, upscaled 25×.
	src, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	small, _ := png.Decode(bytes.NewReader(src))
	large := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
	for y := range 1200 {
		for x := range 1600 {
			large.Set(x, y, small.At(x*64/1600, y*64/1200))
		}
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, large, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "imgs", "large.jpg")
	if err := os.WriteFile(big, jb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, big)

	model := filepath.Join(fixture.Root(), "shapes", "model")
	const methods = "gradcam,hirescam,gradcam++"
	out := filepath.Join(dir, "out")
	// --batch 1: one image per run, as the server runs requests that come
	// one after another (other batch sizes may round differently).
	cmd := exec.Command(os.Args[0], "explain", "--model", model, "--method", methods, "--class", "top2", "--save", "map16",
		"--batch", "1", "--out", out, filepath.Join(dir, "imgs"))
	cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tfcam explain: %v\n%s", err, msg)
	}
	recs := readJSONL(t, filepath.Join(out, "results.jsonl"))
	if len(recs) != len(paths) {
		t.Fatalf("explain wrote %d records, want %d", len(recs), len(paths))
	}

	s := startServe(t, "--model", model, "--method", methods, "--class", "top2")
	for _, r := range recs {
		data, err := os.ReadFile(r.Input)
		if err != nil {
			t.Fatal(err)
		}
		var code int
		var a serveAnswer
		var body string
		if strings.HasSuffix(r.Input, ".jpg") {
			code, a, body, err = postImage(http.DefaultClient, "http://"+s.url+"/v1/models/shapes:explain", "image/jpeg", data, "")
		} else {
			req, _ := json.Marshal(map[string]any{"instances": []map[string]string{{"b64": base64.StdEncoding.EncodeToString(data)}}})
			code, a, body, err = postImage(http.DefaultClient, "http://"+s.url+"/v1/models/shapes:explain", "application/json", req, "")
		}
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v %s", r.Input, code, err, body)
		}
		got := a.Predictions[0].Maps
		if len(got) != len(r.Maps) {
			t.Fatalf("%s: served %d maps, explain wrote %d", r.Input, len(got), len(r.Maps))
		}
		for i, m := range r.Maps {
			if got[i].Method != m.Method || got[i].Class != m.Class {
				t.Errorf("%s: map %d is %s class %d, explain's %s class %d", r.Input, i, got[i].Method, got[i].Class, m.Method, m.Class)
				continue
			}
			file, err := os.ReadFile(filepath.Join(out, m.Map16))
			if err != nil {
				t.Fatal(err)
			}
			served, err := base64.StdEncoding.DecodeString(got[i].Map16.B64)
			if err != nil {
				t.Fatal(err)
			}
			want := gray16Values(t, file, m.Map16)
			have := gray16Values(t, served, "served "+m.Map16)
			diff := 0
			for k := range want {
				if want[k] != have[k] {
					diff++
				}
			}
			if diff > 0 || len(want) != len(have) {
				t.Errorf("%s %s class %d: %d of %d values differ from explain's %s", r.Input, m.Method, m.Class, diff, len(want), m.Map16)
			}
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0:\n%s", code, s.stderr())
	}
}

// TestServeGracefulShutdown: SIGTERM while requests wait in a batch; every
// one is answered 200 after the signal, and the process exits 0. What
// happens when is decided by the server's state, not by timers (the
// timeouts are 5-minute hang guards): the batch leaves when it holds 7
// images; six wait in the queue when the signal comes, and the seventh is
// a request whose body the server is reading (it answered 100 Continue),
// sent in full only after the signal.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 7)
	s := startServe(t, "--model", filepath.Join(fixture.Root(), "shapes", "model"), "--max-batch", "7",
		"--batch-timeout", "5m", "--request-timeout", "5m", "--shutdown-timeout", "5m")
	queuedPaths, last := paths[:6], paths[6]
	codes := make([]int, len(queuedPaths))
	answered := make([]time.Time, len(queuedPaths))
	var wg sync.WaitGroup
	for i, p := range queuedPaths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			code, _, body, err := postImage(http.DefaultClient, "http://"+s.url+"/v1/models/shapes:explain", "image/png", data, "")
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			if code != 200 {
				t.Errorf("request %d: %d %s", i, code, body)
			}
			codes[i], answered[i] = code, time.Now()
		})
	}
	// All six decoded and queued, the batch not yet started.
	deadline := time.Now().Add(2 * time.Minute) // a hang guard
	for queued(t, s.url) != len(queuedPaths) {
		if time.Now().After(deadline) {
			t.Fatalf("the requests did not queue:\n%s", s.stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The seventh request: its headers, then its body once the server
	// reads it.
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a hang guard
	fmt.Fprintf(conn, "POST /v1/models/shapes:explain HTTP/1.1\r\nHost: %s\r\nContent-Type: image/png\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", s.url, len(data))
	br := bufio.NewReader(conn)
	for first := true; ; first = false {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("seventh request: %v\n%s", err, s.stderr())
		}
		if first && !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("seventh request: %q, want 100 Continue", line)
		}
		if line == "\r\n" {
			break
		}
	}
	signalled := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(data); err != nil {
		t.Fatalf("seventh request's body, after SIGTERM: %v", err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("seventh request: %v\n%s", err, s.stderr())
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("seventh request, sent during the shutdown: %d %s", res.StatusCode, body)
	}
	wg.Wait()
	for i, at := range answered {
		if !at.IsZero() && at.Before(signalled) {
			t.Errorf("request %d was answered before SIGTERM: not in flight, the test proves nothing", i)
		}
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, s.stderr())
	}
	if !strings.Contains(s.stderr(), "tfcam serve: stopped") {
		t.Errorf("no stop message:\n%s", s.stderr())
	}
}

// queued reads the queue depth from /metrics.
func queued(t *testing.T, addr string) int {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `tfcam_serve_queue_depth{model="shapes"} `); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}

// TestServeConfigTLSToken: a YAML config with two models and their own
// presets, served over TLS with a bearer token.
func TestServeConfigTLSToken(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 1)
	model := filepath.Join(fixture.Root(), "shapes", "model")
	cfg := filepath.Join(dir, "models.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "models:\n  - {name: plain, model: %q}\n  - name: second\n    model: %q\n    method: hirescam,gradcam\n    class: \"2\"\n", model, model), 0o644)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("tok-123\n"), 0o600)
	cert, key, pool := selfSigned(t, dir)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	s := startServe(t, "--config", cfg, "--token-file", token, "--tls-cert", cert, "--tls-key", key)
	data, _ := os.ReadFile(paths[0])
	base := "https://" + s.url + "/v1/models/"
	if code, _, body, err := postImage(client, base+"second:explain", "image/png", data, ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("without the token: %d %v %s, want 401", code, err, body)
	}
	code, a, body, err := postImage(client, base+"second:explain", "image/png", data, "tok-123")
	if err != nil || code != 200 {
		t.Fatalf("second: %d %v %s", code, err, body)
	}
	if a.Method != "hirescam,gradcam" || len(a.Predictions[0].Maps) != 2 || a.Predictions[0].Maps[0].Class != 2 {
		t.Errorf("second model's preset not applied: %s", body)
	}
	code, a, body, err = postImage(client, base+"plain:explain", "image/png", data, "tok-123")
	if err != nil || code != 200 || a.Method != "gradcam" {
		t.Errorf("plain: %d %v %s", code, err, body)
	}
	if res, err := http.Get("http://" + s.url + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Errorf("plain HTTP answered 200 on the TLS port")
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tfcam test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestServeUsageErrors: bad flags and configs exit 2 before any model
// loads, with a message naming the flag or file.
func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(fixture.Root(), "shapes", "model")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	tests := []struct {
		name string
		o    func(*serveOptions)
		want string
	}{
		{"neither", func(o *serveOptions) { o.model = "" }, "--model DIR"},
		{"both", func(o *serveOptions) { o.config = write("c.json", `{"models": []}`) }, "--model DIR"},
		{"unknown field", func(o *serveOptions) {
			o.model, o.config = "", write("c.yaml", "models:\n  - {name: a, model: x, mehtod: gradcam}\n")
		}, "mehtod"},
		{"no models", func(o *serveOptions) { o.model, o.config = "", write("e.json", `{"models": []}`) }, "lists no models"},
		{"no name", func(o *serveOptions) { o.model, o.config = "", write("n.json", `{"models": [{"model": "x"}]}`) }, "needs a name"},
		{"bad method", func(o *serveOptions) { o.method = "gradcan" }, "gradcan"},
		{"tls half", func(o *serveOptions) { o.tlsCert = "c.pem" }, "--tls-cert and --tls-key"},
		{"empty token", func(o *serveOptions) { o.tokenFile = write("tok", "\n") }, "is empty"},
		{"queue below batch", func(o *serveOptions) { o.maxQueue = 4 }, "--max-queue 4"},
		{"bad alpha", func(o *serveOptions) { o.alpha = 2 }, "--alpha"},
		{"bad target", func(o *serveOptions) { o.target = "regresion" }, `--target "regresion": unknown target`},
		{"bad target in config", func(o *serveOptions) {
			o.model, o.config = "", write("t.yaml", "models:\n  - {name: a, model: x, target: \"contrast:class=x\"}\n")
		}, `model "a": target: "contrast:class=x": contrast needs class=D`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := serveOptions{modelFlags: modelFlags{model: model, device: "auto"}, method: "gradcam", class: "top1", target: "class",
				addr: "127.0.0.1:0", maxBatch: 32, batchTimeout: time.Millisecond, requestTimeout: time.Second, maxBodyMB: 1,
				workers: 1, overlaySize: 512, colormap: "jet", alpha: 0.5, quality: 90, maxMethodLists: 4}
			tt.o(&o)
			err := serveRun(t.Context(), o, io.Discard, nil)
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want a usage error with %q", err, tt.want)
			}
		})
	}
}

// TestServeTargets: a model's --target and --output (here per model in
// --config, on the multihead fixture's regression and segmentation heads)
// give exactly the maps `tfcam explain` gives with the same --target and
// --output; a request's class picks a column of the target's scores, and
// a column the target does not have is answered 400. A target that does
// not fit the output stops serve at start, naming --output.
func TestServeTargets(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 2)
	mh := filepath.Join(fixture.Root(), "multihead", "model")
	heads := []struct{ name, output, target, class string }{
		{"reg", "output_1", "regression", "1"},
		{"seg", "output_0", "region", "top1"},
	}
	var cfg strings.Builder
	cfg.WriteString("models:\n")
	for _, h := range heads {
		fmt.Fprintf(&cfg, "  - {name: %s, model: %q, layer: last_conv, method: \"gradcam,gradcam++\", output: %s, target: %s, class: %q}\n", h.name, mh, h.output, h.target, h.class)
	}
	cfgFile := filepath.Join(dir, "models.yaml")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o644)
	s := startServe(t, "--config", cfgFile)
	for _, h := range heads {
		out := filepath.Join(dir, "out-"+h.name)
		cmd := exec.Command(os.Args[0], "explain", "--model", mh, "--layer", "last_conv", "--method", "gradcam,gradcam++", "--output", h.output,
			"--target", h.target, "--class", h.class, "--save", "map16", "--batch", "1", "--out", out, filepath.Join(dir, "imgs"))
		cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tfcam explain --target %s: %v\n%s", h.target, err, msg)
		}
		for _, r := range readJSONL(t, filepath.Join(out, "results.jsonl")) {
			data, _ := os.ReadFile(r.Input)
			code, a, body, err := postImage(http.DefaultClient, "http://"+s.url+"/v1/models/"+h.name+":explain", "image/png", data, "")
			if err != nil || code != 200 || len(a.Predictions[0].Maps) != len(r.Maps) {
				t.Fatalf("%s %s: %d %v %s", h.name, r.Input, code, err, body)
			}
			for i, m := range r.Maps {
				got := a.Predictions[0].Maps[i]
				if got.Method != m.Method || got.Class != m.Class {
					t.Fatalf("%s: served %s class %d, explain %s class %d", h.name, got.Method, got.Class, m.Method, m.Class)
				}
				file, _ := os.ReadFile(filepath.Join(out, m.Map16))
				served, _ := base64.StdEncoding.DecodeString(got.Map16.B64)
				want, have := gray16Values(t, file, m.Map16), gray16Values(t, served, "served "+m.Map16)
				if !slices.Equal(want, have) {
					t.Errorf("%s %s %s: served map differs from explain's", h.name, r.Input, m.Method)
				}
			}
			if h.name == "reg" && r.Maps[0].Class != 1 {
				t.Errorf("reg: class %d, want column 1 (the negated output)", r.Maps[0].Class)
			}
		}
	}
	data, _ := os.ReadFile(paths[0])
	req, _ := json.Marshal(map[string]any{"instances": []map[string]string{{"b64": base64.StdEncoding.EncodeToString(data)}}, "class": "2"})
	if code, _, body, _ := postImage(http.DefaultClient, "http://"+s.url+"/v1/models/reg:explain", "application/json", req, ""); code != http.StatusBadRequest {
		t.Errorf("class 2 of a regression target: %d %s, want 400", code, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, s.stderr())
	}

	o := serveOptions{modelFlags: modelFlags{model: mh, output: "output_1", device: "auto"}, method: "gradcam", class: "top1", target: "region",
		addr: "127.0.0.1:0", maxBatch: 4, batchTimeout: time.Millisecond, requestTimeout: time.Second, maxBodyMB: 1,
		workers: 1, overlaySize: 64, colormap: "jet", alpha: 0.5, quality: 90, maxMethodLists: 4}
	o.explainFlags.layer = "last_conv"
	if err := serveRun(t.Context(), o, io.Discard, nil); err == nil || !strings.Contains(err.Error(), "choose the model output it fits with --output") {
		t.Errorf("region on the regression output: %v, want the --output hint", err)
	}
}
