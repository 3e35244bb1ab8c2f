package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress reports a long run: a bar with rate and ETA redrawn in place on
// a terminal, or a plain line every interval when output goes to a log.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	total    int
	done     int
	failed   int
	start    time.Time
	last     time.Time
	interval time.Duration
	// more: total grows while a listing is read (Grow), so no ETA yet.
	more bool
	// running is the images of the graph run going on (0: none), since
	// runStart; a ticker redraws while one runs, so that a run of many
	// minutes (perturbation methods) still shows it is alive.
	running  int
	runStart time.Time
	stop     chan struct{}
}

// Running implements engine.RunWatcher.
func (p *progress) Running(images int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = images
	if images > 0 {
		p.runStart = time.Now()
	}
	if p.stop == nil && images > 0 {
		p.stop = make(chan struct{})
		go p.tick(p.stop)
	}
}

// tick redraws every second on a terminal, every interval in a log, while
// a run goes on and nothing else redraws.
func (p *progress) tick(stop chan struct{}) {
	every := time.Second
	if !p.tty {
		every = p.interval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			if p.running > 0 && now.Sub(p.last) >= every {
				p.last = now
				p.draw(now)
			}
			p.mu.Unlock()
		}
	}
}

// Grow adds n images to the total (found by a listing during the run).
func (p *progress) Grow(n int) {
	p.mu.Lock()
	p.total += n
	p.mu.Unlock()
}

// Listing says whether a listing is still adding to the total.
func (p *progress) Listing(on bool) {
	p.mu.Lock()
	p.more = on
	p.mu.Unlock()
}

func newProgress(w io.Writer, tty bool, total int) *progress {
	now := time.Now()
	return &progress{w: w, tty: tty, total: total, start: now, last: now, interval: 10 * time.Second}
}

// add counts finished images (ok or failed) and redraws when due.
func (p *progress) Add(ok, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += ok + failed
	p.failed += failed
	now := time.Now()
	if p.tty && now.Sub(p.last) >= 100*time.Millisecond || !p.tty && now.Sub(p.last) >= p.interval || p.done == p.total {
		p.last = now
		p.draw(now)
	}
}

// note prints a message without garbling the bar.
func (p *progress) Note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
	if p.tty && p.done > 0 {
		p.draw(time.Now())
	}
}

func (p *progress) draw(now time.Time) {
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(p.done) / max(elapsed, 1e-9)
	eta := "?"
	of := fmt.Sprint(p.total)
	if p.more {
		of += "+" // still listing
	}
	if rate > 0 && p.total > 0 && !p.more {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	run := ""
	if p.running > 0 {
		run = fmt.Sprintf(", a graph run of %d image(s) going for %s", p.running, now.Sub(p.runStart).Round(time.Second))
	}
	if p.tty {
		const width = 30
		fill := int(frac * width)
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%s %5.1f%% %.1f img/s ETA %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
			p.done, of, 100*frac, rate, eta)
		if p.failed > 0 {
			fmt.Fprintf(p.w, " (%d failed)", p.failed)
		}
		fmt.Fprint(p.w, run)
		return
	}
	fmt.Fprintf(p.w, "progress: %d/%s images (%.1f%%), %d failed, %.1f img/s, ETA %s%s\n", p.done, of, 100*frac, p.failed, rate, eta, run)
}

// finish ends the bar's line.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.running = 0
	if p.tty {
		p.draw(time.Now())
		fmt.Fprintln(p.w)
	}
}
