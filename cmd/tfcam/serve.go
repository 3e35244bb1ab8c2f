package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/render"
	"github.com/tfcam/tfcam/serve"
)

// serveOptions are the flags of `tfcam serve`.
type serveOptions struct {
	modelFlags
	explainFlags
	name            string
	method          string
	class           string
	target          string
	config          string
	addr            string
	maxBatch        int
	batchTimeout    time.Duration
	maxQueue        int
	requestTimeout  time.Duration
	maxBodyMB       int
	maxInflightMB   int
	maxCost         int64
	maxTopK         int
	cheapPasses     int64
	workers         int
	tokenFile       string
	tlsCert, tlsKey string
	overlaySize     int
	colormap        string
	alpha           float64
	quality         int
	maxMethodLists  int
	shutdownTimeout time.Duration
}

// serveHelp is `tfcam serve -h`; docs/serve.md says the rest.
var serveHelp = help{
	synopsis: []string{"tfcam serve --model DIR [flags]", "tfcam serve --config models.yaml [flags]"},
	about: `Serves explanations over HTTP in TensorFlow Serving's shape:
  POST /v1/models/NAME:explain   {"instances": [{"b64": "..."}], "method": "gradcam", "class": "top1"}
                                 or the image itself (Content-Type image/jpeg or image/png;
                                 settings as ?method=&class=&output=&overlay=)
  POST /v1/models/NAME:predict   the model's own predictions
  GET  /v1/models/NAME           status, signature, layers, methods
  GET  /healthz, /readyz, /metrics (Prometheus), /openapi.json
Concurrent requests are merged into one TensorFlow run per model. A
request's "class" is top1, topK, a class index or a class label. SIGTERM
answers the requests in flight and exits 0. Methods: tfcam methods.`,
	examples: []example{
		{"the demo model on localhost:8501, as /v1/models/efficientnet_lite0",
			"tfcam serve --model .models/efficientnet_lite0/model"},
		{"explain a photo with it",
			"curl -s --data-binary @.models/efficientnet_lite0/photos/chelsea.png -H 'Content-Type: image/png' 'localhost:8501/v1/models/efficientnet_lite0:explain?method=gradcam&class=top1'"},
		{"several models, on every interface, behind a token",
			"tfcam serve --config models.yaml --addr :8501 --token-file token.txt"},
	},
	main: []string{"model", "config", "addr", "method", "class", "layer", "target", "preprocess", "name"},
	groups: []flagGroup{
		{"Batching and limits", []string{"max-batch", "batch-timeout", "max-queue", "request-timeout", "max-body-mb", "max-inflight-mb", "max-request-cost", "cheap-passes", "max-top-k", "max-method-lists", "workers", "shutdown-timeout"}},
		{"Security", []string{"token-file", "tls-cert", "tls-key"}},
		{"Overlays", []string{"overlay-size", "colormap", "alpha", "quality"}},
		{"Method", []string{"probabilities", "seed", "tokens"}},
		{"Model", []string{"labels", "size", "output", "input", "input-tensor", "signature", "tags", "device", "threads", "max-tensor-mb", "max-decode-mb"}},
	},
	more: `--config lists several models (JSON, or YAML for .yaml/.yml):
  models:
    - {name: shapes, model: /models/shapes, method: "gradcam,hirescam", class: top1}
    - {name: lite0, model: /models/efficientnet_lite0, layer: top_activation}
    - {name: seg, model: /models/unet, output: logits, target: region}
Each entry takes the model flags' names (model, tags, signature,
preprocess, labels, size, layer, probabilities, seed, max_tensor_mb, method,
class, output, target); --device and --threads apply to all. A model's
target is fixed when it loads: serve one model under several names for
several targets.`,
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOptions
	o.modelFlags.register(fs)
	o.explainFlags.register(fs, "explain the probability instead of the logit (the input of a final softmax/sigmoid)")
	fs.StringVar(&o.name, "name", "", "model name in URLs, with --model (default: the model directory's name, or its parent's when that is \"model\" or a version number)")
	fs.StringVar(&o.method, "method", "gradcam", "default methods of requests that name none, with --model")
	fs.StringVar(&o.class, "class", "top1", "default class of requests that name none, with --model: top1, topK, a class index or label")
	fs.StringVar(&o.target, "target", "class", "with --model: "+targetUsage+"; fixed for the model")
	fs.StringVar(&o.config, "config", "", "models to serve, JSON or YAML (see below); instead of --model")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8501", "address to listen on (:8501 for every interface)")
	fs.IntVar(&o.maxBatch, "max-batch", 32, "most images in one TensorFlow run (1..4096)")
	fs.DurationVar(&o.batchTimeout, "batch-timeout", 5*time.Millisecond, "how long a batch's first image waits for more")
	fs.IntVar(&o.maxQueue, "max-queue", 0, "most images waiting per model; more are answered 429 (0: 8×--max-batch)")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "longest time from a request's arrival to its answer (504 after)")
	fs.IntVar(&o.maxBodyMB, "max-body-mb", 32, "largest request body in MiB (413 above)")
	fs.Int64Var(&o.maxCost, "max-request-cost", 4096, "most passes through the model one request may cost (images × classes × (1 + each method's copies: Score-CAM one per channel, RISE one per mask)); dearer requests are answered 400 before anything runs")
	fs.Int64Var(&o.cheapPasses, "cheap-passes", 8, "requests costing more passes per image than this (classes × (1 + the methods' copies)) run in each model's dear lane, beside the cheap one, so they never hold up the gradient family")
	fs.IntVar(&o.maxTopK, "max-top-k", 20, "most classes a request may explain per image (class=topK)")
	fs.IntVar(&o.maxInflightMB, "max-inflight-mb", 1024, "memory the requests being answered may hold, in MiB (bodies ×3, decoded images): a request that does not fit is answered 429; with --max-decode-mb × --workers, the bound on the server's memory above its models'")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "images decoded and rendered at once (1..1024)")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding a bearer token every request but /healthz and /readyz must send")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	fs.IntVar(&o.overlaySize, "overlay-size", 512, "longest side of overlays in pixels (as tfcam explain's: it also sets how JPEGs are decoded, so keep both equal for equal maps)")
	fs.StringVar(&o.colormap, "colormap", "jet", "overlay colours: jet, turbo or viridis")
	fs.Float64Var(&o.alpha, "alpha", 0.5, "overlay opacity of the map, 0..1")
	fs.IntVar(&o.quality, "quality", 90, "JPEG quality of overlays, 1..100")
	fs.IntVar(&o.maxMethodLists, "max-method-lists", 16, "method lists a model keeps built, least recently used dropped first (its graph is reloaded after twice as many)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 60*time.Second, "on SIGTERM, how long to wait for requests in flight")
	fs.Usage = serveHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected arguments %q: tfcam serve takes flags only", fs.Args()))
	}
	return serveRun(ctx, o, os.Stderr, nil)
}

// resolve checks the flags that can be checked before models load.
func (o serveOptions) resolve() (serve.Options, error) {
	var so serve.Options
	if (o.config == "") == (o.model == "") {
		return so, usageError("give --model DIR (one model) or --config FILE (several)")
	}
	if err := checkRunFlags(o.maxBatch, o.workers, o.threads, o.maxTensor, 1); err != nil {
		return so, err
	}
	cm, err := render.ParseColormap(o.colormap)
	if err != nil {
		return so, usageError("--colormap: " + err.Error())
	}
	switch {
	case !(o.alpha >= 0 && o.alpha <= 1):
		return so, usageError(fmt.Sprintf("--alpha %g: want a value in [0, 1]", o.alpha))
	case o.quality < 1 || o.quality > 100:
		return so, usageError(fmt.Sprintf("--quality %d: want 1..100", o.quality))
	case o.overlaySize < 1 || o.overlaySize > 16384:
		return so, usageError(fmt.Sprintf("--overlay-size %d: want 1..16384", o.overlaySize))
	case o.batchTimeout < 0:
		return so, usageError(fmt.Sprintf("--batch-timeout %v: want 0 or more", o.batchTimeout))
	case o.maxQueue != 0 && o.maxQueue < o.maxBatch:
		return so, usageError(fmt.Sprintf("--max-queue %d: want at least --max-batch (%d), or 0", o.maxQueue, o.maxBatch))
	case o.requestTimeout <= 0:
		return so, usageError(fmt.Sprintf("--request-timeout %v: want more than 0", o.requestTimeout))
	case o.maxBodyMB < 1 || o.maxBodyMB > 4096:
		return so, usageError(fmt.Sprintf("--max-body-mb %d: want 1..4096", o.maxBodyMB))
	case o.maxCost < 0 || o.maxTopK < 0 || o.cheapPasses < 0:
		return so, usageError(fmt.Sprintf("--max-request-cost %d --max-top-k %d: want positive values (0: the defaults)", o.maxCost, o.maxTopK))
	case o.maxInflightMB < 0 || o.maxInflightMB > 1<<20:
		return so, usageError(fmt.Sprintf("--max-inflight-mb %d: want 1..1048576 (0: 1024)", o.maxInflightMB))
	case o.maxMethodLists < 1:
		return so, usageError(fmt.Sprintf("--max-method-lists %d: want at least 1", o.maxMethodLists))
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return so, usageError("--tls-cert and --tls-key go together")
	}
	alpha := o.alpha
	so = serve.Options{MaxBatch: o.maxBatch, BatchTimeout: o.batchTimeout, MaxQueue: o.maxQueue,
		RequestTimeout: o.requestTimeout, MaxBodyBytes: int64(o.maxBodyMB) << 20, MaxInflightBytes: int64(o.maxInflightMB) << 20, MaxRequestCost: o.maxCost, MaxTopK: o.maxTopK, CheapPasses: o.cheapPasses, Workers: o.workers,
		OverlaySize: o.overlaySize, Colormap: cm, Alpha: &alpha, Quality: o.quality, MaxMethodSets: o.maxMethodLists}
	if o.batchTimeout == 0 {
		so.BatchTimeout = time.Nanosecond // 0 means the default to the package
	}
	if o.tokenFile != "" {
		data, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return so, usageError(fmt.Sprintf("--token-file: %v", err))
		}
		if so.Token = strings.TrimSpace(string(data)); so.Token == "" {
			return so, usageError(fmt.Sprintf("--token-file %s is empty: write the token in it", o.tokenFile))
		}
	}
	return so, nil
}

// entries are the models to load: the --config file's, or --model's.
func (o serveOptions) entries() ([]serve.ModelConfig, error) {
	if o.config == "" {
		name := o.name
		if name == "" {
			name = defaultModelName(o.model)
		}
		return []serve.ModelConfig{{Name: name, Model: o.model, Tags: o.tags, Signature: o.signature, Preprocess: o.preprocess,
			Labels: o.labels, Size: o.size, Layer: o.layer, Probabilities: o.probs, Seed: o.seed, MaxTensorMB: o.maxTensor,
			Tokens: o.tokens, Method: o.method, Class: o.class, Output: o.output, Target: o.target}}, nil
	}
	models, err := serve.ReadConfig(o.config)
	if err != nil {
		return nil, usageError("--config " + strings.TrimPrefix(err.Error(), serve.ErrConfig.Error()+": "))
	}
	return models, nil
}

// defaultModelName names a model after its directory: ".../shapes/model"
// and ".../resnet/1" are "shapes" and "resnet".
func defaultModelName(dir string) string {
	dir = filepath.Clean(dir)
	base := filepath.Base(dir)
	if base == "model" || strings.Trim(base, "0123456789") == "" {
		base = filepath.Base(filepath.Dir(dir))
	}
	return base
}

// serveRun loads the models and serves until ctx ends; ready, when set,
// receives the listening address (tests).
func serveRun(ctx context.Context, o serveOptions, log io.Writer, ready func(addr string)) error {
	so, err := o.resolve()
	if err != nil {
		return err
	}
	entries, err := o.entries()
	if err != nil {
		return err
	}
	targets := make([]tfcam.Target, len(entries))
	for i, mc := range entries {
		if _, err := explainer.ParseMethods(mc.Method); err != nil {
			return usageError(fmt.Sprintf("model %q: method: %v", mc.Name, err))
		}
		if targets[i], err = parseTarget(mc.Target); err != nil {
			return err
		}
	}
	so.Log = log
	var models []serve.Model
	defer func() {
		for _, m := range models {
			m.Model.Close()
		}
	}()
	for i, mc := range entries {
		f := modelFlags{model: mc.Model, tags: mc.Tags, signature: mc.Signature, device: o.device, maxDecode: o.maxDecode,
			preprocess: mc.Preprocess, labels: mc.Labels, threads: o.threads, size: mc.Size, output: mc.Output}
		x := explainFlags{layer: mc.Layer, probs: mc.Probabilities, seed: mc.Seed, maxTensor: mc.MaxTensorMB, tokens: mc.Tokens}
		m, err := f.open()
		if err != nil {
			return fmt.Errorf("model %q: %w", mc.Name, err)
		}
		cfg, err := x.config(m.Preset, explainer.Config{})
		if err == nil {
			cfg.Objective, err = targets[i].Objective(ctx, m)
			err = targetError(err)
		}
		if err != nil {
			m.Close()
			return fmt.Errorf("model %q: %w", mc.Name, err)
		}
		models = append(models, serve.Model{Name: mc.Name, Model: m, Config: cfg, Method: mc.Method, Class: mc.Class})
	}
	srv, err := serve.New(so, models)
	if errors.Is(err, explainer.ErrObjective) {
		err = fmt.Errorf("target: %w; choose the model output it fits with --output KEY (\"output\" in --config; see `tfcam layers`)", err)
	}
	if err != nil {
		return configError(err) // a layer, method list or class the model cannot take
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		srv.Close()
		return usageError(fmt.Sprintf("--addr %s: %v", o.addr, err))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: serve.ErrorLog(log, time.Minute),
		ReadTimeout: o.requestTimeout, IdleTimeout: 120 * time.Second}
	scheme := "http"
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			ln.Close()
			srv.Close()
			return usageError(fmt.Sprintf("--tls-cert/--tls-key: %v", err))
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	var names []string
	for _, m := range models {
		names = append(names, m.Name)
	}
	fmt.Fprintf(log, "tfcam serve: listening on %s://%s, models %s, max batch %d, batch timeout %v, %s\n",
		scheme, ln.Addr(), strings.Join(names, ", "), o.maxBatch, so.BatchTimeout, deviceNote(models[0].Model.TF))
	if ready != nil {
		ready(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	// Stop: not ready, no new connections, requests in flight answered,
	// then the batchers finish what is queued.
	fmt.Fprintf(log, "tfcam serve: stopping: answering the requests in flight (at most %v)\n", o.shutdownTimeout)
	srv.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	srv.Close()
	if err != nil {
		return fmt.Errorf("shutdown: %w (requests still running after --shutdown-timeout %v)", err, o.shutdownTimeout)
	}
	fmt.Fprintln(log, "tfcam serve: stopped")
	return nil
}
