// Package serve answers explanation requests over HTTP in TensorFlow
// Serving's shape: POST /v1/models/{name}:explain and :predict with
// {"instances": [{"b64": ...}]} or a raw image body, GET /v1/models/{name}
// for the model's status, /healthz, /readyz, Prometheus metrics at
// /metrics and an OpenAPI 3 description at /openapi.json.
//
// A request's images are decoded on the request's goroutine with
// tfimage's decoder (the one `tfcam explain` uses, with the same view
// size, so the maps are the same bit for bit), then queued; one batcher
// goroutine per model merges queued images of concurrent requests into
// one explainer run (batcher.go), and the request renders its own maps
// (16-bit PNG, optional float values and JPEG overlays) with tfimage's
// renderer.
//
// Limits: a body size limit (413), a bounded queue (429 with Retry-After),
// a per-request timeout (504), a client that goes away leaves the queue at
// once, a bad image is answered 400 alone, and a panic is answered 500
// without stopping the server.
//
// It must not read or write files: models are loaded by the caller and
// named by it, and no part of a request names a path.
package serve
