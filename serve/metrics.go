package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that several servers (tests) do not share counters.
type metrics struct {
	requests *prometheus.CounterVec   // model, endpoint, code
	latency  *prometheus.HistogramVec // model, endpoint
	batch    *prometheus.HistogramVec // model
	runTime  *prometheus.HistogramVec // model
	runs     *prometheus.CounterVec   // model
	queue    *prometheus.GaugeVec     // model
	images   *prometheus.CounterVec   // model, endpoint
	shed     prometheus.Counter       // requests refused for memory
	evicted  *prometheus.CounterVec   // model
	graphs   *prometheus.CounterVec   // model
	inflight prometheus.GaugeFunc     // bytes held by requests
}

func newMetrics(reg *prometheus.Registry, inflight func() float64) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfcam_serve_requests_total",
			Help: "HTTP requests to the model endpoints, by model, endpoint (explain, predict, status) and status code (499: the client went away)."},
			[]string{"model", "endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tfcam_serve_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"model", "endpoint"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tfcam_serve_batch_size",
			Help:    "Images per graph run.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}}, []string{"model"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tfcam_serve_run_duration_seconds",
			Help:    "Time of one graph run (Session.Run) of a batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"model"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfcam_serve_batch_runs_total",
			Help: "Graph runs (Session.Run of a batch); fewer than requests when batching merges them."}, []string{"model"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tfcam_serve_queue_depth",
			Help: "Images waiting for a batch."}, []string{"model"}),
		images: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfcam_serve_images_total",
			Help: "Images answered; its rate is images per second."}, []string{"model", "endpoint"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{Name: "tfcam_serve_shed_total",
			Help: "Requests answered 429 because their memory did not fit in the in-flight budget (--max-inflight-mb)."}),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfcam_serve_method_lists_evicted_total",
			Help: "Method lists dropped, least recently used first, to keep --max-method-lists live."}, []string{"model"}),
		graphs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfcam_serve_graph_reloads_total",
			Help: "Fresh graphs loaded because the current one held ops of 2 × --max-method-lists lists."}, []string{"model"}),
		inflight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tfcam_serve_inflight_bytes",
			Help: "Memory charged to the requests being answered (bodies, decoded images), of the in-flight budget."}, inflight),
	}
	reg.MustRegister(m.requests, m.latency, m.batch, m.runTime, m.runs, m.queue, m.images, m.shed, m.evicted, m.graphs, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// modelMetrics are one model's series.
type modelMetrics struct {
	batch, runTime prometheus.Observer
	runs           prometheus.Counter
	queue          prometheus.Gauge
	images         *prometheus.CounterVec // endpoint
	evicted        prometheus.Counter
	graphs         prometheus.Counter
}

func (m *metrics) forModel(name string) modelMetrics {
	return modelMetrics{
		batch:   m.batch.WithLabelValues(name),
		runTime: m.runTime.WithLabelValues(name),
		runs:    m.runs.WithLabelValues(name),
		queue:   m.queue.WithLabelValues(name),
		images:  m.images.MustCurryWith(prometheus.Labels{"model": name}),
		evicted: m.evicted.WithLabelValues(name),
		graphs:  m.graphs.WithLabelValues(name),
	}
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
