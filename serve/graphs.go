package serve

import (
	"fmt"
	"log"
	"maps"
	"runtime"
	"slices"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
)

// graph is one loaded copy of a served model and the explainers of the
// method lists built into it, by canonical spec.
//
// TensorFlow cannot remove ops from a graph, so evicting a list from sets
// frees nothing by itself: the graph keeps growing with every new list.
// A model therefore keeps at most Options.MaxMethodSets lists live
// (least recently used evicted first, never the default list) and, once
// ops of 2×MaxMethodSets lists were built into the current graph, loads
// the SavedModel again (tfcam.Model.Reopen) into a fresh graph for the
// next new list; the old one is closed when its last run ends. Memory:
// the first graph (the caller's, kept until Close) and the current one,
// each holding at most 2×MaxMethodSets lists, plus a replaced graph
// while a run still uses it.
type graph struct {
	tm *tfcam.Model
	// own: opened by the server (Reopen), so closed by it when retired
	// and idle; the first graph is the caller's.
	own     bool
	sets    map[string]*explainer.Explainer
	lastUse map[string]uint64
	// built counts the lists ever built into tm's graph, evicted ones
	// included: what its graph holds.
	built   int
	refs    int // runs using it
	retired bool
}

func newGraph(tm *tfcam.Model, own bool) *graph {
	return &graph{tm: tm, own: own, sets: map[string]*explainer.Explainer{}, lastUse: map[string]uint64{}}
}

// graphLists is how many lists a graph takes before it is replaced.
func (m *model) graphLists() int { return 2 * m.maxSets }

// use returns the graph to run on and, for a method list (nil for
// :predict), its explainer, building it the first time (on the batcher's
// goroutine, or in New before it starts). The caller releases the graph
// when its run is done.
func (m *model) use(ms *methodSet) (*graph, *explainer.Explainer, error) {
	if g, e, ok := m.lookup(ms); ok {
		return g, e, nil
	}
	// One build at a time per model: the two lanes may both want one.
	m.buildMu.Lock()
	defer m.buildMu.Unlock()
	if g, e, ok := m.lookup(ms); ok {
		return g, e, nil
	}
	m.mu.Lock()
	g := m.g
	full := g.built >= m.graphLists()
	m.mu.Unlock()
	if full {
		if m.reopen == nil {
			return nil, nil, fmt.Errorf("%w: model %q already built %d method lists and cannot load a fresh graph", errTooManySets, m.name, g.built)
		}
		fresh, err := m.reopen()
		if err != nil {
			return nil, nil, fmt.Errorf("serve: model %q: loading a fresh graph after %d method lists: %w", m.name, g.built, err)
		}
		m.replace(newGraph(fresh, true))
		m.metrics.graphs.Inc()
	}
	m.mu.Lock()
	g = m.g // only builders replace it, and this is the one
	m.mu.Unlock()
	cfg := m.Config
	cfg.Methods = ms.methods
	e, err := g.tm.Explainer(cfg)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g.built++
	if len(g.sets) >= m.maxSets {
		m.evictLocked(g)
	}
	g.sets[ms.spec] = e
	m.tick++
	g.lastUse[ms.spec] = m.tick
	g.refs++
	return g, e, nil
}

// lookup finds ms's explainer in the current graph (any graph for nil),
// taking a reference.
func (m *model) lookup(ms *methodSet) (*graph, *explainer.Explainer, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.g
	if ms == nil {
		g.refs++
		return g, nil, true
	}
	e, ok := g.sets[ms.spec]
	if !ok {
		return nil, nil, false
	}
	m.tick++
	g.lastUse[ms.spec] = m.tick
	g.refs++
	return g, e, true
}

// evictLocked drops g's least recently used list other than the default
// one. m.mu is held.
func (m *model) evictLocked(g *graph) {
	victim, oldest := "", uint64(0)
	for _, k := range slices.Sorted(maps.Keys(g.sets)) {
		if k == m.def.spec {
			continue
		}
		if t := g.lastUse[k]; victim == "" || t < oldest {
			victim, oldest = k, t
		}
	}
	if victim != "" {
		delete(g.sets, victim)
		delete(g.lastUse, victim)
		m.metrics.evicted.Inc()
	}
}

// replace makes fresh the current graph; the old one closes when idle.
func (m *model) replace(fresh *graph) {
	m.mu.Lock()
	old := m.g
	m.g = fresh
	old.retired = true
	idle := old.refs == 0
	m.mu.Unlock()
	if idle {
		old.close()
	}
}

// release ends a run on g.
func (m *model) release(g *graph) {
	m.mu.Lock()
	g.refs--
	idle := g.retired && g.refs == 0
	m.mu.Unlock()
	if idle {
		g.close()
	}
}

// close releases a graph the server opened.
func (g *graph) close() {
	if g.own {
		if err := g.tm.Close(); err != nil {
			log.Printf("serve: closing a replaced graph: %v", err)
		}
		// The graph's C memory is freed by its Go finalizer, which waits
		// for a collection; a Go heap this small may not have one for
		// long. Rare (once per 2 × MaxMethodSets new lists) and cheap.
		g.sets = nil
		runtime.GC()
	}
}

// hasSet reports whether a request for spec can run: its explainer is
// built, or one can be (always, unless the model cannot load a fresh
// graph and its current one is full).
func (m *model) hasSet(spec string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.g.sets[spec]
	return ok || m.reopen != nil || m.g.built < m.graphLists()
}

// loaded lists the method lists built and live, sorted.
func (m *model) loaded() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.g.sets))
}
