package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/results"
	"github.com/tfcam/tfcam/tfimage"
)

// errTooManySets is returned for a method list beyond Options.MaxMethodSets.
var errTooManySets = errors.New("serve: too many method lists")

// requestBody is the JSON request of :explain and :predict, in TF
// Serving's "instances" shape with tfcam's settings beside it.
type requestBody struct {
	Instances []instance `json:"instances"`
	// Method is a --method list ("gradcam,hirescam"); default the model's.
	Method string `json:"method"`
	// Class is "top1", "topK", or a class index (a number or a string).
	Class json.RawMessage `json:"class"`
	// Output lists the map encodings: map16 (default), float, or both.
	Output string `json:"output"`
	// Overlay adds a JPEG overlay per map.
	Overlay bool `json:"overlay"`
	// Top is the number of predictions per image (default 5).
	Top int `json:"top"`
}

// instance is one image, base64-encoded as TF Serving's binary inputs.
type instance struct {
	B64 string `json:"b64"`
}

// settings are a request's resolved options.
type settings struct {
	set     *methodSet
	class   explainer.Class
	map16   bool
	float   bool
	overlay bool
	top     int
}

// badRequest is a client mistake: answered 400 with its message.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return badRequest{fmt.Sprintf(format, a...)} }

// clip shortens what a client sent, quoted back in an error, to 200
// bytes: a 10 MB method string is not echoed.
func clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + fmt.Sprintf("… (%d bytes)", len(s))
}

// infer answers :explain and :predict.
func (s *Server) infer(w http.ResponseWriter, r *http.Request, m *model, predict bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	endpoint := "explain"
	if predict {
		endpoint = "predict"
	}
	// Admission: the body's memory is charged before it is read.
	body := s.opts.MaxBodyBytes
	if r.ContentLength > 0 && r.ContentLength < body {
		body = r.ContentLength
	}
	if !s.charge(w, 3*body, "its body") {
		return
	}
	defer s.uncharge(3 * body)
	images, set, err := s.readRequest(w, r, m, predict)
	if err != nil {
		var mbe *http.MaxBytesError
		var br badRequest
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes (the server's --max-body-mb)", mbe.Limit))
		case errors.As(err, &br):
			writeError(w, http.StatusBadRequest, err)
		default:
			writeError(w, http.StatusBadRequest, fmt.Errorf("reading the request: %v", err))
		}
		return
	}

	// Decode every image before queueing: a bad one is answered 400 here
	// and never reaches a batch.
	decs := make([]*tfimage.Decoded, len(images))
	defer func() {
		for _, d := range decs {
			d.Release()
		}
	}()
	for i, data := range images {
		if err := s.acquire(ctx); err != nil {
			s.abandoned(w, r, ctx, m)
			return
		}
		decs[i], err = m.dec.Decode(ctx, data, fmt.Sprintf("instance %d", i))
		s.release()
		if err != nil {
			if ctx.Err() != nil {
				s.abandoned(w, r, ctx, m)
				return
			}
			writeError(w, http.StatusBadRequest, fmt.Errorf("instance %d: %v", i, err))
			return
		}
	}

	// The decoded inputs and views are held until the answer is written.
	var held int64
	for _, d := range decs {
		held += 4 * int64(len(d.Pixels))
		if d.View != nil {
			held += int64(d.ViewWidth) * int64(d.ViewHeight) * 3
		}
	}
	if !s.charge(w, held, fmt.Sprintf("its %d decoded images", len(decs))) {
		return
	}
	defer s.uncharge(held)

	jobs := make([]*job, len(decs))
	for i, d := range decs {
		j := &job{class: set.class, pixels: d.Pixels}
		if predict {
			j.key = "predict"
		} else {
			j.spec = set.set
			j.key = fmt.Sprintf("%s|%d", set.set.spec, set.class.TopK)
		}
		jobs[i] = j
	}
	lane := m.lane(set, predict)
	if err := lane.enqueue(jobs); err != nil {
		if errors.Is(err, ErrQueueFull) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, fmt.Errorf("%v; retry later", err))
			return
		}
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("the server is shutting down"))
		return
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			lane.withdraw(jobs)
			s.abandoned(w, r, ctx, m)
			return
		}
	}
	for i, j := range jobs {
		if j.err != nil {
			fmt.Fprintf(s.opts.Log, "model %s: instance %d: %v\n", m.name, i, j.err)
			code := http.StatusInternalServerError
			if errors.Is(j.err, errTooManySets) {
				code = http.StatusBadRequest
			}
			writeError(w, code, fmt.Errorf("instance %d: %v", i, j.err))
			return
		}
	}

	resp := response{Model: m.name, Predictions: make([]result, len(jobs))}
	if !predict {
		resp.Method = set.set.spec
	}
	for i, j := range jobs {
		var err error
		if predict {
			resp.Predictions[i] = m.predictResult(j.scores, set.top)
		} else {
			resp.Predictions[i], err = s.explainResult(ctx, m, j.res, decs[i].View, set)
		}
		if err != nil {
			if ctx.Err() != nil {
				s.abandoned(w, r, ctx, m)
				return
			}
			writeError(w, http.StatusInternalServerError, fmt.Errorf("instance %d: rendering: %v", i, err))
			return
		}
		resp.Predictions[i].Width, resp.Predictions[i].Height = decs[i].Width, decs[i].Height
		if w := decs[i].Warning; w != "" {
			resp.Predictions[i].Warnings = []string{w}
		}
	}
	m.metrics.images.WithLabelValues(endpoint).Add(float64(len(jobs)))
	writeJSON(w, http.StatusOK, resp)
}

// abandoned answers a request whose context ended: 504 when its timeout
// passed; a client that went away gets nothing (499 in the metrics, as
// nginx counts it).
func (s *Server) abandoned(w http.ResponseWriter, r *http.Request, ctx context.Context, m *model) {
	if r.Context().Err() != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.code = 499
		}
		return
	}
	writeError(w, http.StatusGatewayTimeout, fmt.Errorf("no answer within %v (the server's --request-timeout; %d images queued for model %q)",
		s.opts.RequestTimeout, m.depth(), m.name))
}

// charge takes n bytes of the in-flight budget for the request, or
// answers it 429 (413 when n is more than the whole budget) and returns
// false. The caller releases n when the request is answered.
func (s *Server) charge(w http.ResponseWriter, n int64, what string) bool {
	if s.inflight.TryAcquire(n) {
		s.inflightUsed.Add(n)
		return true
	}
	limit := s.opts.MaxInflightBytes
	if n > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the request needs %d MiB for %s, more than the server's in-flight memory budget of %d MiB (its --max-inflight-mb): send fewer or smaller images", n>>20, what, limit>>20))
		return false
	}
	s.metrics.shed.Inc()
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusTooManyRequests, fmt.Errorf("the server is busy: %d MiB for %s do not fit in what its in-flight memory budget (%d MiB, --max-inflight-mb) has left; retry later", n>>20, what, limit>>20))
	return false
}

// uncharge returns n bytes to the in-flight budget.
func (s *Server) uncharge(n int64) {
	s.inflightUsed.Add(-n)
	s.inflight.Release(n)
}

func (s *Server) acquire(ctx context.Context) error {
	select {
	case s.decode <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) release() { <-s.decode }

// readRequest reads the images and settings: a JSON body with instances,
// or one raw image (Content-Type image/*) with settings in the query.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, m *model, predict bool) ([][]byte, settings, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		return nil, settings{}, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var req requestBody
	var images [][]byte
	switch {
	case strings.HasPrefix(ct, "image/") || ct == "application/octet-stream":
		if len(body) == 0 {
			return nil, settings{}, badf("empty body: send the image's bytes")
		}
		images = [][]byte{body}
		if req, err = queryRequest(r.URL.Query()); err != nil {
			return nil, settings{}, err
		}
	case ct == "application/json" || ct == "":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nil, settings{}, badf("JSON body: %v (want {\"instances\": [{\"b64\": \"...\"}], \"method\": ..., \"class\": ...})", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, settings{}, badf("JSON body: more after the request object (send one JSON object)")
		}
		if len(req.Instances) == 0 {
			return nil, settings{}, badf("no instances: want {\"instances\": [{\"b64\": \"<base64 JPEG or PNG>\"}]}")
		}
		for i, in := range req.Instances {
			data, err := base64.StdEncoding.DecodeString(in.B64)
			if err != nil {
				return nil, settings{}, badf("instance %d: b64: %v", i, err)
			}
			if len(data) == 0 {
				return nil, settings{}, badf("instance %d: empty image", i)
			}
			images = append(images, data)
		}
	default:
		return nil, settings{}, badf("Content-Type %q: send application/json with instances, or the image itself as image/jpeg or image/png", ct)
	}
	if len(images) > s.opts.MaxQueue {
		return nil, settings{}, badf("%d instances: at most %d per request (the server's --max-queue)", len(images), s.opts.MaxQueue)
	}
	set, err := m.settings(req, predict)
	if err != nil {
		return images, set, err
	}
	if k := set.class.TopK; !predict && k > s.opts.MaxTopK {
		return nil, set, badf("class top%d: at most top%d per request (the server's --max-top-k): each class is a backward pass and a map per method", k, s.opts.MaxTopK)
	}
	if cost := m.requestCost(set, len(images), predict); cost > s.opts.MaxRequestCost {
		return nil, set, badf("the request costs %d passes through the model (%d images × %d classes × %s), over the server's limit of %d (its --max-request-cost): send fewer images or classes, or cheaper method settings",
			cost, len(images), max(set.class.TopK, 1), m.perImage(set), s.opts.MaxRequestCost)
	}
	return images, set, nil
}

// requestCost is what explaining (or predicting) n images with st costs,
// in passes through the model: per image and class, the pass the
// methods share plus each method's copies (Options.MaxRequestCost).
func (m *model) requestCost(st settings, n int, predict bool) int64 {
	if predict {
		return int64(n)
	}
	per := int64(1)
	for _, mt := range st.set.methods {
		c := m.defE.Cost(mt)
		per += int64(c.Copies) + int64(c.TailCopies)
	}
	return int64(n) * int64(max(st.class.TopK, 1)) * per
}

// perImage spells a method list's passes per image and class.
func (m *model) perImage(st settings) string {
	parts := []string{"1 shared"}
	for _, mt := range st.set.methods {
		if c := m.defE.Cost(mt); c.Copies+c.TailCopies > 0 {
			parts = append(parts, fmt.Sprintf("%d for %s", c.Copies+c.TailCopies, mt.Name()))
		}
	}
	return "(" + strings.Join(parts, " + ") + ")"
}

// queryRequest reads the settings of a raw-image request from its query.
func queryRequest(q url.Values) (requestBody, error) {
	req := requestBody{Method: q.Get("method"), Output: q.Get("output")}
	if c := q.Get("class"); c != "" {
		req.Class, _ = json.Marshal(c)
	}
	if v := q.Get("overlay"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return req, badf("overlay=%q: want true or false", v)
		}
		req.Overlay = b
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return req, badf("top=%q: want a number", v)
		}
		req.Top = n
	}
	return req, nil
}

// settings checks a request's options against the model.
func (m *model) settings(req requestBody, predict bool) (settings, error) {
	st := settings{set: m.def, class: m.defClass, top: 5, overlay: req.Overlay}
	if req.Top != 0 {
		if req.Top < 0 || req.Top > m.classes {
			return st, badf("top %d: want 1..%d (the model's classes)", req.Top, m.classes)
		}
		st.top = req.Top
	}
	if predict {
		return st, nil
	}
	if req.Method != "" {
		set, err := parseMethodSet(req.Method)
		if err != nil {
			return st, badf("method: %v", clip(err.Error()))
		}
		if !m.hasSet(set.spec) {
			return st, badf("method %q: model %q built 2 × %d method lists (the server's --max-method-lists) into its graph and cannot load a fresh one; use a loaded list (see GET /v1/models/%s)", set.spec, m.name, m.maxSets, m.name)
		}
		st.set = set
	}
	if len(req.Class) > 0 && string(req.Class) != "null" {
		var c string
		if err := json.Unmarshal(req.Class, &c); err != nil {
			var n json.Number
			if err := json.Unmarshal(req.Class, &n); err != nil {
				return st, badf("class %s: want \"top1\", \"topK\", a class index or a class label", req.Class)
			}
			c = n.String()
		}
		class, err := m.parseClass(c)
		if err != nil {
			return st, badRequest{err.Error()}
		}
		st.class = class
	}
	for _, o := range strings.Split(req.Output, ",") {
		switch strings.TrimSpace(o) {
		case "", "map16":
			st.map16 = true
		case "float":
			st.float = true
		default:
			return st, badf("output %q: want map16, float or map16,float", req.Output)
		}
	}
	if req.Output == "float" {
		st.map16 = false
	}
	return st, nil
}

// response is the answer of :explain and :predict: one result per
// instance, in order, under "predictions" as TF Serving's.
type response struct {
	Model       string   `json:"model"`
	Method      string   `json:"method,omitempty"`
	Predictions []result `json:"predictions"`
}

// result is one image's answer.
type result struct {
	// Predictions are the top classes, best first.
	Predictions []results.Prediction `json:"predictions"`
	// Scores are all the model's outputs (:predict).
	Scores []float32 `json:"scores,omitempty"`
	// Class and Label are the explained class (the first map's).
	Class *int   `json:"class,omitempty"`
	Label string `json:"label,omitempty"`
	// Width and Height are the image's own size, upright.
	Width  int       `json:"width"`
	Height int       `json:"height"`
	Maps   []mapInfo `json:"maps,omitempty"`
	// Warnings say why the answer may mean nothing although the image
	// was explained (it decoded to one colour throughout).
	Warnings []string `json:"warnings,omitempty"`
}

// mapInfo is one method's map for one class.
type mapInfo struct {
	// Explanation is what it explains, spelled as in results.jsonl.
	results.Explanation
	Width  int `json:"width"`
	Height int `json:"height"`
	// Map16 is the map as a 16-bit grayscale PNG at the model's
	// resolution (0 → 0, 1 → 65535), as `tfcam explain` writes it.
	Map16 *binary `json:"map16,omitempty"`
	// Values is the map in [0,1], Height rows of Width values.
	Values [][]float32 `json:"values,omitempty"`
	// Overlay is the map coloured over the image, JPEG.
	Overlay *binary `json:"overlay,omitempty"`
	// Kind and Zero are as in results.jsonl: "gradient" or "signed" for
	// maps that are not regions, and where a signed map's 0 lies.
	Kind string  `json:"kind,omitempty"`
	Zero float32 `json:"zero,omitempty"`
}

// binary is a file in TF Serving's base64 form.
type binary struct {
	B64         string `json:"b64"`
	ContentType string `json:"content_type"`
}

func (m *model) predictResult(scores []float32, top int) result {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	res := result{Scores: scores}
	for _, c := range idx[:min(top, len(idx))] {
		res.Predictions = append(res.Predictions, results.Prediction{Class: c, Label: m.opened.Preset.Label(c), Score: scores[c]})
	}
	return res
}

// explainResult renders one image's maps.
func (s *Server) explainResult(ctx context.Context, m *model, res explainer.Result, view *tf.Tensor, st settings) (result, error) {
	var out result
	label := m.label
	for i, p := range res.Predictions {
		if i == st.top {
			break
		}
		out.Predictions = append(out.Predictions, results.Prediction{Class: p.Class, Label: label(p.Class), Score: p.Score})
	}
	h, w := m.h, m.w
	var norms [][]float32
	var styles []tfimage.MapStyle
	for _, ms := range res.Maps {
		for _, mp := range ms {
			if out.Class == nil {
				c := mp.Class
				out.Class, out.Label = &c, label(c)
			}
			mi := mapInfo{Explanation: results.Explanation{Method: mp.Method, Class: mp.Class, Label: label(mp.Class), Rank: mp.Rank, Score: mp.Score}, Width: w, Height: h}
			if st.float {
				for y := range h {
					mi.Values = append(mi.Values, mp.Normalized[y*w:(y+1)*w])
				}
			}
			if mp.Kind != explainer.RegionMap {
				mi.Kind, mi.Zero = mp.Kind.String(), mp.Zero
			}
			out.Maps = append(out.Maps, mi)
			norms = append(norms, mp.Normalized)
			styles = append(styles, tfimage.StyleOf(mp))
		}
	}
	if (st.map16 || st.overlay) && len(norms) > 0 {
		// All of the image's maps in one run (one decode worker slot).
		if err := s.acquire(ctx); err != nil {
			return out, err
		}
		err := m.rend.render(ctx, norms, styles, view, st, out.Maps)
		s.release()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// parseClass reads a class as a request or a config's "class" gives it:
// top1, topK, an index or, when the model's class scores are explained, a
// label (explainer.Class.Named), checked against the model's classes.
func (m *model) parseClass(s string) (explainer.Class, error) {
	c, err := explainer.ParseClass(s)
	if err != nil {
		return c, err
	}
	var labels []string
	if m.defE.Objective().IsClass() {
		labels = m.opened.Preset.Labels
	}
	if c, err = c.Named(labels); err != nil {
		return c, err
	}
	return c, c.Check(m.classes)
}
