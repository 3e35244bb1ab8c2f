package serve

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMethodSetCanonical: lists that run the same methods are one list
// (one explainer, one of --max-method-lists); order and settings still
// tell lists apart.
func TestMethodSetCanonical(t *testing.T) {
	spec := func(s string) string {
		t.Helper()
		ms, err := parseMethodSet(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return ms.spec
	}
	for _, same := range [][]string{
		{"gradcam", "gradcam,gradcam", " GradCAM ", "gradcam,gradcam,gradcam"},
		{"gradcam,hirescam", "gradcam,hirescam,gradcam", "gradcam,hirescam,hirescam"},
	} {
		for _, s := range same[1:] {
			if spec(s) != spec(same[0]) {
				t.Errorf("%q → %q, %q → %q: want one list", s, spec(s), same[0], spec(same[0]))
			}
		}
	}
	for _, differ := range [][2]string{
		{"gradcam,hirescam", "hirescam,gradcam"}, // map order differs
		{"integrated-gradients", "integrated-gradients:steps=8"},
	} {
		if spec(differ[0]) == spec(differ[1]) {
			t.Errorf("%q and %q are one list %q, want two", differ[0], differ[1], spec(differ[0]))
		}
	}
	if ms, _ := parseMethodSet("gradcam,gradcam"); len(ms.methods) != 1 {
		t.Errorf("gradcam,gradcam runs %d methods, want 1", len(ms.methods))
	}
}

// TestMethodListsEvicted: a client cycling through method lists never
// locks the others out. At most --max-method-lists lists stay live
// (least recently used dropped first); a graph that holds ops of twice
// as many is replaced by a fresh load, and the replaced one is closed.
// A model that cannot be loaded again refuses new lists once its graph
// is full, saying so.
func TestMethodListsEvicted(t *testing.T) {
	img := shapesImages(t, 1)[0]
	explain := func(t *testing.T, s *testServer, list string) answer {
		t.Helper()
		a, err := post(t, context.Background(), s.url+"/v1/models/shapes:explain?method="+url.QueryEscape(list), "image/png", img)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	spec := func(list string) string {
		ms, err := parseMethodSet(list)
		if err != nil {
			t.Fatal(err)
		}
		return ms.spec
	}
	t.Run("reloadable", func(t *testing.T) {
		s := startServer(t, Options{MaxMethodSets: 2}, nil)
		m := s.models["shapes"]
		var first *graph
		// Built per graph of 4 lists: gradcam (at New), hirescam,
		// xgradcam (evicts hirescam), layercam (evicts xgradcam) | fresh
		// graph: gradcam++, hirescam, eigencam (evicts gradcam++),
		// xgradcam (evicts hirescam) | fresh graph: gradcam.
		for i, list := range []string{"hirescam", "xgradcam", "layercam", "gradcam++", "hirescam", "eigencam", "xgradcam", "gradcam"} {
			if a := explain(t, s, list); a.code != http.StatusOK {
				t.Fatalf("request %d (%s): %d %s", i, list, a.code, a.err.Error)
			}
			loaded := m.loaded()
			if len(loaded) > 2 || !slices.Contains(loaded, spec(list)) {
				t.Errorf("after %s: loaded %v, want it among at most 2", list, loaded)
			}
			if i == 4 {
				m.mu.Lock()
				first = m.g
				m.mu.Unlock()
			}
		}
		if got := testutil.ToFloat64(m.metrics.evicted); got != 4 {
			t.Errorf("%v lists evicted, want 4", got)
		}
		if got := testutil.ToFloat64(m.metrics.graphs); got != 2 {
			t.Errorf("%v fresh graphs, want 2", got)
		}
		if first == nil || first.tm == m.opened || !first.own {
			t.Fatalf("the graph after the first reload is the caller's model")
		}
		// The replaced graph the server loaded is closed: its session runs
		// nothing any more.
		if _, _, err := first.tm.TF.Predict(context.Background(), make([]float32, 64*64*3), 1); err == nil {
			t.Errorf("the replaced graph still runs: not closed")
		}
	})
	t.Run("not reloadable", func(t *testing.T) {
		s := startServer(t, Options{MaxMethodSets: 2}, func(s *Server) { s.models["shapes"].reopen = nil })
		for i, list := range []string{"hirescam", "xgradcam", "layercam", "gradcam"} {
			if a := explain(t, s, list); a.code != http.StatusOK {
				t.Fatalf("request %d (%s): %d %s", i, list, a.code, a.err.Error)
			}
		}
		if a := explain(t, s, "gradcam++"); a.code != http.StatusBadRequest || !strings.Contains(a.err.Error, "max-method-lists") {
			t.Errorf("a fifth list on a full graph: %d %q, want 400 naming --max-method-lists", a.code, a.err.Error)
		}
	})
}
