package serve

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/tfgraph"
	"github.com/tfcam/tfcam/tfimage"
)

// Options are the server's settings; zero fields take the defaults below.
type Options struct {
	// MaxBatch is the most images in one graph run (default 32).
	MaxBatch int
	// BatchTimeout is how long the first image of a batch waits for more
	// (default 5 ms).
	BatchTimeout time.Duration
	// MaxQueue is the most images waiting per model; more are answered
	// 429 (default 8×MaxBatch).
	MaxQueue int
	// RequestTimeout bounds a request from its arrival to its answer
	// (default 30 s).
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a request body (default 32 MiB).
	MaxBodyBytes int64
	// Workers bounds the images decoded and rendered at once (default
	// GOMAXPROCS).
	Workers int
	// Token, when set, is required as "Authorization: Bearer TOKEN" on
	// every endpoint but /healthz and /readyz.
	Token string
	// OverlaySize is the longest side of overlays and of the decoded view
	// (default 512, as `tfcam explain`'s --overlay-size: it also chooses
	// the JPEG decoder's DCT scaling, so the maps equal explain's).
	OverlaySize int
	// Colormap, Alpha and Quality style overlays (default jet, 0.5, 90).
	Colormap render.Colormap
	Alpha    *float64
	Quality  int
	// MaxInflightBytes bounds the memory the requests being answered
	// hold (default 1 GiB): each is charged its body three times over
	// (the bytes, the parsed JSON, the decoded images) before it is read,
	// then its decoded model inputs and views; a request that does not
	// fit in what is left is answered 429 (413 when it could never fit),
	// instead of growing the server. With the decoders' own budget
	// (tfcam.Options.MaxDecodeBytes, Workers images at once), the server's
	// memory is bounded by MaxInflightBytes + Workers × MaxDecodeBytes
	// above its models'.
	MaxInflightBytes int64
	// MaxRequestCost bounds what one request may cost, in passes through
	// the model (each about the work of predicting one image): per image
	// and explained class, the forward and backward pass the methods
	// share plus each method's copies of the model (its registered Cost:
	// Score-CAM one per channel, RISE one per mask). Dearer requests are
	// answered 400 before anything runs (default 4096: RISE at its
	// defaults on one image, Score-CAM on 3 images of a 1280-channel
	// layer; a :predict costs one pass per image).
	MaxRequestCost int64
	// CheapPasses is the most passes per image (classes × (1 + the
	// methods' copies)) of a request that runs in a model's cheap lane;
	// dearer ones run in its dear lane, one batch at a time beside the
	// cheap lane's, so they never hold up the gradient family (default
	// 8).
	CheapPasses int64
	// MaxTopK bounds the classes a request may explain per image
	// (class=topK; default 20): each is a backward pass and a map per
	// method in the answer.
	MaxTopK int
	// MaxMethodSets bounds the method lists a model keeps built (default
	// 16), least recently used evicted first; a graph that holds ops of
	// twice as many is replaced by a fresh load (see graph).
	MaxMethodSets int
	// Log receives one line per failed batch, recovered panic and
	// lifecycle event (default: discarded).
	Log io.Writer
}

func (o *Options) defaults() error {
	if o.MaxBatch == 0 {
		o.MaxBatch = 32
	}
	if o.BatchTimeout == 0 {
		o.BatchTimeout = 5 * time.Millisecond
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = 8 * o.MaxBatch
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.OverlaySize == 0 {
		o.OverlaySize = 512
	}
	if o.Colormap == "" {
		o.Colormap = render.Jet
	}
	if o.Alpha == nil {
		a := 0.5
		o.Alpha = &a
	}
	if o.Quality == 0 {
		o.Quality = 90
	}
	if o.MaxMethodSets == 0 {
		o.MaxMethodSets = 16
	}
	if o.MaxInflightBytes == 0 {
		o.MaxInflightBytes = 1 << 30
	}
	if o.MaxRequestCost == 0 {
		o.MaxRequestCost = 4096
	}
	if o.MaxTopK == 0 {
		o.MaxTopK = 20
	}
	if o.CheapPasses == 0 {
		o.CheapPasses = 8
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	switch {
	case o.MaxBatch < 1 || o.MaxBatch > 4096:
		return fmt.Errorf("serve: max batch %d: want 1..4096", o.MaxBatch)
	case o.BatchTimeout < 0:
		return fmt.Errorf("serve: batch timeout %v: want 0 or more", o.BatchTimeout)
	case o.MaxQueue < o.MaxBatch:
		return fmt.Errorf("serve: max queue %d: want at least max batch (%d)", o.MaxQueue, o.MaxBatch)
	case o.RequestTimeout < 0 || o.MaxBodyBytes < 0 || o.Workers < 1 || o.MaxInflightBytes < 0 || o.MaxRequestCost < 0 || o.MaxTopK < 0:
		return fmt.Errorf("serve: request timeout, body limit and workers must be positive")
	case o.OverlaySize < 1 || o.OverlaySize > 16384:
		return fmt.Errorf("serve: overlay size %d: want 1..16384", o.OverlaySize)
	}
	return nil
}

// Model is one model to serve. The server does not close Model.Model.
type Model struct {
	// Name is the name in URLs: letters, digits, '.', '_' and '-'.
	Name string
	// Model is the opened model: TensorFlow model, preset (labels,
	// default layer) and pixel preprocessing.
	Model *tfcam.Model
	// Config is the explainer settings of every request (layer, score,
	// seed, target, tokens, tensor budget); Methods is ignored: each
	// request's method list is set in a copy.
	Config explainer.Config
	// Method and Class are the defaults of requests that name none
	// ("gradcam", "top1").
	Method, Class string
}

// Server answers the HTTP API for a set of models. Create it with New, get
// its handler with Handler and stop it with Close after the HTTP server
// has shut down.
type Server struct {
	opts    Options
	models  map[string]*model
	names   []string
	reg     *prometheus.Registry
	metrics *metrics
	ready   atomic.Bool
	decode  chan struct{} // Workers tokens
	// inflight holds MaxInflightBytes: what the requests being answered
	// may hold (see Options.MaxInflightBytes).
	inflight     *semaphore.Weighted
	inflightUsed atomic.Int64
	// testPanic, when set, is called by every API handler (tests make it
	// panic).
	testPanic func()
}

// model is a served model with its decoder, renderers and batcher.
type model struct {
	Model
	name   string
	opened *tfcam.Model
	tf     *tfgraph.Model
	dec    *tfimage.Decoder
	rend   *renderers
	b      *batcher // the cheap lane (and :predict)
	dear   *batcher // the dear lane (see Options.CheapPasses)
	// cheapPasses is Options.CheapPasses.
	cheapPasses int64
	def         *methodSet
	defClass    explainer.Class
	defE        *explainer.Explainer // the default list's: costs of any list
	label       func(int) string     // names a column of the scores (tfcam.Model.Labeler)
	classes     int
	h, w        int // model input size: the maps'
	layer       tfgraph.Layer
	layers      []tfgraph.Layer
	metrics     modelMetrics
	maxSets     int
	testRun     func([]*job) error

	// reopen loads the model again into a fresh graph (graphs.go); nil
	// when it cannot be.
	reopen func() (*tfcam.Model, error)
	// buildMu serialises explainer builds and graph replacements.
	buildMu sync.Mutex
	mu      sync.Mutex // g, tick and g's fields: read by both lanes and status
	g       *graph
	tick    uint64 // uses, for least-recently-used eviction
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// New prepares every model: decoder, renderers, the default method list's
// explainer, and a batcher each.
func New(opts Options, ms []Model) (*Server, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("serve: no models")
	}
	s := &Server{opts: opts, models: map[string]*model{}, reg: prometheus.NewRegistry(),
		decode: make(chan struct{}, opts.Workers), inflight: semaphore.NewWeighted(opts.MaxInflightBytes)}
	s.metrics = newMetrics(s.reg, func() float64 { return float64(s.inflightUsed.Load()) })
	for _, mc := range ms {
		if !validName.MatchString(mc.Name) {
			s.Close()
			return nil, fmt.Errorf("serve: model name %q: want 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", mc.Name)
		}
		if _, dup := s.models[mc.Name]; dup {
			s.Close()
			return nil, fmt.Errorf("serve: model name %q given twice", mc.Name)
		}
		m, err := s.newModel(mc)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("serve: model %q (%s): %w", mc.Name, mc.Model.TF.Dir, err)
		}
		s.models[mc.Name] = m
		s.names = append(s.names, mc.Name)
	}
	s.ready.Store(true)
	return s, nil
}

func (s *Server) newModel(mc Model) (*model, error) {
	m := &model{Model: mc, name: mc.Name, opened: mc.Model, tf: mc.Model.TF, g: newGraph(mc.Model, false),
		maxSets: s.opts.MaxMethodSets, metrics: s.metrics.forModel(mc.Name), reopen: mc.Model.Reopen}
	if m.Method == "" {
		m.Method = "gradcam"
	}
	def, err := parseMethodSet(m.Method)
	if err != nil {
		return nil, err
	}
	m.def = def // before use: eviction spares it
	g, e, err := m.use(def)
	if err != nil {
		return nil, err
	}
	m.release(g)
	m.defE, m.classes, m.layer = e, e.Classes(), e.Layer()
	m.label = m.opened.Labeler(e) // one objective per model
	if m.defClass, err = m.parseClass(m.Class); err != nil {
		return nil, err
	}
	if fw, err := m.tf.Inline(); err == nil {
		m.layers = fw.Layers()
	}
	h, w := e.InputSize()
	m.h, m.w = h, w
	if m.dec, err = m.opened.Decoder(s.opts.OverlaySize); err != nil {
		return nil, err
	}
	m.rend = &renderers{base: tfimage.RenderOptions{MapWidth: w, MapHeight: h,
		Colormap: s.opts.Colormap, Alpha: *s.opts.Alpha, Quality: s.opts.Quality}}
	// The overlay renderer of one map (the fallback) and the default
	// request's now, so that a bad style fails New.
	for _, k := range []renderKey{{1, false, true}, {len(e.Methods()) * max(m.defClass.TopK, 1), true, false}} {
		if _, _, err := m.rend.get(k.maps, k.map16, k.overlay); err != nil {
			m.close()
			return nil, err
		}
	}
	m.b = newBatcher(m, s.opts.MaxBatch, s.opts.MaxQueue, s.opts.BatchTimeout)
	m.dear = newBatcher(m, s.opts.MaxBatch, s.opts.MaxQueue, s.opts.BatchTimeout)
	m.cheapPasses = s.opts.CheapPasses
	return m, nil
}

// parseMethodSet parses a method list ("gradcam,hirescam") into its
// canonical form: each method once (its first occurrence), spelled with
// every setting (explainer.Options), so that "gradcam,gradcam",
// "GradCAM" and "gradcam:" are one list and use one explainer, not one
// of --max-method-lists each.
func parseMethodSet(spec string) (*methodSet, error) {
	ms, err := explainer.ParseMethods(strings.ToLower(strings.TrimSpace(spec)))
	if err != nil {
		return nil, err
	}
	var uniq []explainer.Method
	var canon []string
	seen := map[string]bool{}
	for _, m := range ms {
		c := m.Name()
		if opts := explainer.Options(m); len(opts) > 0 {
			c += ":" + strings.Join(opts, ":")
		}
		if !seen[c] {
			seen[c] = true
			uniq = append(uniq, m)
			canon = append(canon, c)
		}
	}
	return &methodSet{spec: strings.Join(canon, ","), methods: uniq}, nil
}

// lane is the batcher a request with settings st runs in.
func (m *model) lane(st settings, predict bool) *batcher {
	if !predict && m.requestCost(st, 1, false) > m.cheapPasses {
		return m.dear
	}
	return m.b
}

// depth is the images waiting in both lanes.
func (m *model) depth() int { return int(m.b.size.Load() + m.dear.size.Load()) }

// setQueueGauge sets the model's queue gauge to both lanes' images.
func (m *model) setQueueGauge() {
	if m.b != nil && m.dear != nil {
		m.metrics.queue.Set(float64(m.depth()))
	}
}

func (m *model) close() {
	for _, b := range []*batcher{m.b, m.dear} {
		if b != nil {
			b.close()
		}
	}
	if m.dec != nil {
		m.dec.Close()
	}
	// The runs are over: a graph the server loaded goes with them.
	if m.g != nil {
		m.replace(newGraph(m.opened, false))
	}
	if m.rend != nil {
		m.rend.close()
	}
}

// SetReady sets what /readyz answers; a server stopping sets it false
// before it shuts its listener down, so that load balancers stop sending.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Close stops the batchers after they have run what is queued, and frees
// the decoders and renderers. Call it after http.Server.Shutdown.
func (s *Server) Close() {
	s.ready.Store(false)
	for _, m := range s.models {
		m.close()
	}
}

// Runs is the number of graph runs model name has made: fewer than its
// requests when the batcher merges them.
func (s *Server) Runs(name string) int64 {
	if m, ok := s.models[name]; ok {
		return m.b.runs.Load() + m.dear.runs.Load()
	}
	return 0
}

// Handler is the HTTP API: /v1/models/{name}[:explain|:predict],
// /healthz, /readyz, /metrics and /openapi.json.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "models": s.names})
	})
	mux.Handle("GET /metrics", s.auth(s.metrics.handler(s.reg)))
	mux.Handle("GET /openapi.json", s.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})))
	mux.Handle("/v1/models/{target}", s.auth(http.HandlerFunc(s.route)))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s; see /openapi.json", r.Method, r.URL.Path))
	}))
	return s.recover(mux)
}

// recover answers 500 for a handler that panics, and keeps serving.
func (s *Server) recover(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				fmt.Fprintf(s.opts.Log, "panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
				writeError(w, http.StatusInternalServerError, fmt.Errorf("internal error (logged by the server)"))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// auth requires the bearer token when one is set.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.opts.Token == "" {
		return h
	}
	want := []byte(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 7235 §2.1), the token not.
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tfcam"`)
			writeError(w, http.StatusUnauthorized, fmt.Errorf("missing or wrong bearer token: send Authorization: Bearer TOKEN"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// route splits /v1/models/NAME[:VERB] and answers it.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	name, verb, _ := strings.Cut(r.PathValue("target"), ":")
	m, ok := s.models[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("no model %q (serving %s)", name, strings.Join(s.names, ", ")))
		return
	}
	endpoint := verb
	if endpoint == "" {
		endpoint = "status"
	}
	want := http.MethodPost
	if verb == "" {
		want = http.MethodGet
	}
	if verb != "" && verb != "explain" && verb != "predict" {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint :%s: use %s:explain or %s:predict", verb, name, name))
		return
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s /v1/models/%s: use %s", r.Method, r.PathValue("target"), want))
		return
	}
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		s.metrics.requests.WithLabelValues(name, endpoint, strconv.Itoa(rw.code)).Inc()
		s.metrics.latency.WithLabelValues(name, endpoint).Observe(time.Since(start).Seconds())
	}()
	if s.testPanic != nil {
		s.testPanic()
	}
	switch verb {
	case "":
		writeJSON(rw, http.StatusOK, s.status(m))
	default:
		s.infer(rw, r, m, verb == "predict")
	}
}

// statusWriter records the response code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		log.Printf("serve: writing response: %v", err)
	}
}

// errorBody is every error's answer, as TF Serving's.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// status is GET /v1/models/{name}: TF Serving's model status, plus what
// tfcam can explain on it.
func (s *Server) status(m *model) statusBody {
	h, w, c := m.tf.InputSize()
	st := statusBody{
		ModelVersionStatus: []versionStatus{{Version: "1", State: "AVAILABLE", Status: statusCode{ErrorCode: "OK", ErrorMessage: ""}}},
		Name:               m.name,
		Signature: signature{Key: m.tf.SignatureKey,
			Input:  tensorInfo{Key: m.tf.Input.Key, DType: tfgraph.DTypeName(m.tf.Input.DType), Shape: m.tf.Input.Shape},
			Output: tensorInfo{Key: m.tf.Output.Key, DType: tfgraph.DTypeName(m.tf.Output.DType), Shape: m.tf.Output.Shape}},
		InputSize:  []int{h, w, c},
		Classes:    m.classes,
		Labels:     m.opened.Preset.Labels,
		Preprocess: string(m.opened.Preprocess),
		Defaults:   defaults{Method: m.def.spec, Class: m.Class, Layer: m.layer.Name},
	}
	if st.Defaults.Class == "" {
		st.Defaults.Class = "top1"
	}
	for _, l := range m.layers {
		if l.Spatial {
			st.Layers = append(st.Layers, layerInfo{Name: l.Name, Op: l.Op, Shape: l.Shape})
		}
	}
	for _, me := range explainer.Registry() {
		st.Methods = append(st.Methods, me.Name())
	}
	st.Loaded = m.loaded()
	return st
}

type statusBody struct {
	ModelVersionStatus []versionStatus `json:"model_version_status"`
	Name               string          `json:"name"`
	Signature          signature       `json:"signature"`
	InputSize          []int           `json:"input_size"`
	Classes            int             `json:"classes"`
	Labels             []string        `json:"labels"`
	Preprocess         string          `json:"preprocess"`
	Layers             []layerInfo     `json:"layers"`
	Methods            []string        `json:"methods"`
	Loaded             []string        `json:"loaded_method_lists"`
	Defaults           defaults        `json:"defaults"`
}

type versionStatus struct {
	Version string     `json:"version"`
	State   string     `json:"state"`
	Status  statusCode `json:"status"`
}

type statusCode struct {
	ErrorCode    string `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

type signature struct {
	Key    string     `json:"key"`
	Input  tensorInfo `json:"input"`
	Output tensorInfo `json:"output"`
}

type tensorInfo struct {
	Key   string  `json:"key"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

type layerInfo struct {
	Name  string  `json:"name"`
	Op    string  `json:"op"`
	Shape []int64 `json:"shape"`
}

type defaults struct {
	Method string `json:"method"`
	Class  string `json:"class"`
	Layer  string `json:"layer"`
}
