package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tfcam/tfcam/internal/fixture"
)

// TestMain lets tests run this test binary as the tfcam command
// (TFCAM_RUN_MAIN=1), so that a test can kill a real tfcam process.
func TestMain(m *testing.M) {
	if os.Getenv("TFCAM_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillAndResume kills `tfcam explain` with SIGKILL again and again,
// each time at a state of the run it observes (never after a time), then
// lets a last run finish: every image must be in results.jsonl exactly
// once, and every file a line names must exist and decode. Kills land
// during start-up (while the run opens --out and reads what earlier runs
// did, or once it is set up but has written no line) and during writing
// (when results.jsonl reached a random line count, or at the next
// temporary output file or TFRecord append after that). A run that
// finishes before its kill does not count; images are added while the
// runs use them up, until the kills wanted have landed, so a slow machine
// only makes the test take longer. The seed is logged; TFCAM_KILL_SEED
// repeats a run's choices.
func TestKillAndResume(t *testing.T) {
	const startupKills, writingKills, maxAttempts = 2, 8, 40
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 200)
	imgs := filepath.Join(dir, "imgs")
	out := filepath.Join(dir, "out")
	// Made now so that the first run's start-up can be watched too.
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("TFCAM_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d (TFCAM_KILL_SEED to repeat)", seed)
	args := []string{"explain", "--model", filepath.Join(fixture.Root(), "shapes", "model"), "--method", "gradcam,hirescam",
		"--save", "overlay,map16,tfrecord", "--batch", "8", "--out", out, imgs}
	res := filepath.Join(out, "results.jsonl")
	startups, writes, added := 0, 0, 0
	firstStartup := killState(rng.Intn(2)) // atOpen or atSetUp; the other one next
	for attempt := 1; startups < startupKills || writes < writingKills; attempt++ {
		if attempt > maxAttempts {
			t.Fatalf("%d start-up and %d writing kills landed in %d runs, want %d and %d", startups, writes, maxAttempts, startupKills, writingKills)
		}
		base, _ := countLines(res)
		// Enough images left that the kill lands before the run ends.
		if len(paths)-base < 48 {
			paths = append(paths, copyImages(t, imgs, paths, fmt.Sprintf("more%d", added/48), 48)...)
			added += 48
		}
		var k killAt
		if startups < startupKills && (writes >= writingKills || rng.Intn(5) == 0) {
			k.state = (firstStartup + killState(startups)) % 2
		} else {
			k.state = atLine + killState(rng.Intn(3))
			k.lines = base + 1 + rng.Intn(min(30, (len(paths)-base)/2))
		}
		killed, log := runAndKill(t, args, out, k)
		lines, _ := countLines(res)
		landed := "finished before the kill: " + lastLine(log)
		switch {
		case killed && lines == base:
			startups++
			landed = "killed during start-up"
		case killed:
			writes++
			landed = "killed while writing"
		}
		t.Logf("run %d: kill %s: %s; %d → %d of %d lines", attempt, k, landed, base, lines, len(paths))
	}
	log := tfcamCmd(t, args...)
	t.Logf("%d start-up and %d writing kills, %d images (%d added as the runs used them up); last run: %s",
		startups, writes, len(paths), added, lastLine(log))
	// Every image exactly once, every named file complete.
	seen := map[string]int{}
	for _, r := range readJSONL(t, filepath.Join(out, "results.jsonl")) {
		seen[r.Input]++
		for _, m := range r.Maps {
			for _, f := range []string{m.Overlay, m.Map16} {
				fh, err := os.Open(filepath.Join(out, f))
				if err != nil {
					t.Fatalf("%s names %s: %v", r.Input, f, err)
				}
				_, _, err = image.Decode(fh)
				fh.Close()
				if err != nil {
					t.Errorf("%s: %s does not decode: %v", r.Input, f, err)
				}
			}
		}
	}
	for _, p := range paths {
		if seen[p] != 1 {
			t.Errorf("%s is in results.jsonl %d times", p, seen[p])
		}
	}
	if len(seen) != len(paths) {
		t.Errorf("results.jsonl names %d images, want %d", len(seen), len(paths))
	}
	fixture.Python(t, "check_tfrecord.py", filepath.Join(out, "maps.tfrecord"), fmt.Sprint(2*len(paths)), "4")
	if tmp, _ := filepath.Glob(filepath.Join(out, ".tfcam-tmp-*", "*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// killState is the state of a tfcam explain run at which runAndKill kills
// it.
type killState int

const (
	// atOpen: the run recreated its temporary folder, that is, it is
	// opening --out (reading, and maybe rewriting, what killed runs
	// left).
	atOpen killState = iota
	// atSetUp: the run printed its plan (--out open) and is setting up
	// or explaining its first batch.
	atSetUp
	// atLine: results.jsonl reached killAt.lines lines.
	atLine
	// atTmpFile: after atLine, the next temporary output file appeared
	// (a file is being written).
	atTmpFile
	// atRecords: after atLine, the next append to maps.tfrecord (an
	// image's records, just before its line).
	atRecords
)

type killAt struct {
	state killState
	lines int
}

func (k killAt) String() string {
	switch k.state {
	case atOpen:
		return "at open"
	case atSetUp:
		return "once set up"
	case atLine:
		return fmt.Sprintf("at line %d", k.lines)
	case atTmpFile:
		return fmt.Sprintf("at the first temporary file after line %d", k.lines)
	}
	return fmt.Sprintf("at the first TFRecord append after line %d", k.lines)
}

// runAndKill runs tfcam with args (an explain job writing to the folder
// out) and kills it with SIGKILL when it sees the run reach k's state,
// through inotify on out and the run's stderr. It reports whether the kill
// happened (false: the run ended first) and the run's stderr.
func runAndKill(t *testing.T, args []string, out string, k killAt) (killed bool, log string) {
	t.Helper()
	res := filepath.Join(out, "results.jsonl")
	const tmpName = ".tfcam-tmp-0-of-1"
	w := newInotify(t)
	defer w.close()
	outWd := w.add(t, out, unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO)
	tmpWd := int32(-1)
	stderr := &tfcamLog{header: make(chan struct{})}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // when the test stops here with the run going
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	header := stderr.header
	reached := false // the line count of k was seen
	for {
		kill := false
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("tfcam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			return false, stderr.String()
		case <-header:
			header = nil
			kill = k.state == atSetUp
		case ev := <-w.events:
			switch k.state {
			case atOpen:
				kill = ev.wd == outWd && ev.name == tmpName && ev.mask&unix.IN_CREATE != 0
			case atLine, atTmpFile, atRecords:
				switch {
				case !reached:
					n, _ := countLines(res)
					reached = n >= k.lines
					if reached && k.state == atTmpFile {
						tmpWd = w.add(t, filepath.Join(out, tmpName), unix.IN_CREATE)
					}
					kill = reached && k.state == atLine
				case k.state == atTmpFile:
					kill = ev.wd == tmpWd
				case k.state == atRecords:
					kill = ev.wd == outWd && ev.name == "maps.tfrecord" && ev.mask&unix.IN_MODIFY != 0
				}
			}
		}
		if kill {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return true, stderr.String()
		}
	}
}

// tfcamLog is a run's stderr; header is closed once the run has printed
// its plan ("tfcam explain: N images …").
type tfcamLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	header chan struct{}
	seen   bool
}

func (l *tfcamLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && bytes.Contains(l.buf.Bytes(), []byte("tfcam explain: ")) {
		l.seen = true
		close(l.header)
	}
	return len(p), nil
}

func (l *tfcamLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// inotify delivers file-system events of the folders it watches.
type inotify struct {
	fd     int
	f      *os.File
	events chan inotifyEvent
	stop   chan struct{}
}

type inotifyEvent struct {
	wd   int32
	mask uint32
	name string
}

func newInotify(t *testing.T) *inotify {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	// Non-blocking: reads wait in Go's poller, and close ends them.
	w := &inotify{fd: fd, f: os.NewFile(uintptr(fd), "inotify"), events: make(chan inotifyEvent, 1024), stop: make(chan struct{})}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := w.f.Read(buf)
			if err != nil {
				return
			}
			for b := buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
				l := int(binary.NativeEndian.Uint32(b[12:]))
				ev := inotifyEvent{wd: int32(binary.NativeEndian.Uint32(b)), mask: binary.NativeEndian.Uint32(b[4:]),
					name: string(bytes.TrimRight(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+l], "\x00"))}
				b = b[unix.SizeofInotifyEvent+l:]
				select {
				case w.events <- ev:
				case <-w.stop:
					return
				}
			}
		}
	}()
	return w
}

func (w *inotify) add(t *testing.T, dir string, mask uint32) int32 {
	t.Helper()
	wd, err := unix.InotifyAddWatch(w.fd, dir, mask)
	if err != nil {
		t.Fatalf("inotify %s: %v", dir, err)
	}
	return int32(wd)
}

func (w *inotify) close() {
	close(w.stop)
	w.f.Close()
}

// copyImages copies n of the images at paths into imgs/sub and returns the
// copies' paths: new images (new keys) for a job.
func copyImages(t *testing.T, imgs string, paths []string, sub string, n int) []string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(imgs, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	var copies []string
	for i := range n {
		data, err := os.ReadFile(paths[i%len(paths)])
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(imgs, sub, fmt.Sprintf("img%03d.png", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, p)
	}
	return copies
}

func countLines(path string) (int, error) {
	raw, err := os.ReadFile(path)
	return bytes.Count(raw, []byte("\n")), err
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestSignals: SIGTERM (as Kubernetes sends) finishes the batch in flight
// and exits 143 with consistent results; a second signal exits at once.
func TestSignals(t *testing.T) {
	dir := t.TempDir()
	writeShapesImages(t, dir, 200)
	for _, second := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("out-%v", second))
		cmd := exec.Command(os.Args[0], "explain", "--model", filepath.Join(fixture.Root(), "shapes", "model"),
			"--method", "gradcam", "--batch", "4", "--out", out, filepath.Join(dir, "imgs"))
		cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		res := filepath.Join(out, "results.jsonl")
		for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(5 * time.Millisecond) { // a hang guard
			if n, _ := countLines(res); n > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no image done within 3 minutes: %s", stderr.String())
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if second {
			time.Sleep(time.Millisecond)
			cmd.Process.Signal(syscall.SIGTERM)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 143 {
			t.Errorf("second=%v: exit %v, want 143\n%s", second, err, stderr.String())
		}
		lines := readJSONL(t, res)
		if len(lines) == 0 || len(lines) == 200 {
			t.Errorf("second=%v: %d images done; the stop came neither mid-job nor cleanly", second, len(lines))
		}
		// One signal: every batch that started (of 4) is written whole.
		if !second && len(lines)%4 != 0 {
			t.Errorf("%d images done after SIGTERM: a started batch was cut short", len(lines))
		}
		t.Logf("second=%v: %d images done; %s", second, len(lines), lastLine(stderr.String()))
	}
}

// TestSignalStopsLongRun: SIGTERM during a graph run that would take
// minutes (RISE with 50,000 masks per image on the shapes model: several
// chunks of copies per image) stops it at the next chunk once the grace
// of stopGrace is over: explain exits 143 saying the images were stopped
// mid-run and writes none of them; eval exits 143 too. The signal is sent
// once progress reports the run going (its first tick, after 10 s), so
// the run is certainly in flight; the 2-minute limit only guards against
// a hang — the run itself needs far longer (measured: over a minute per
// image).
func TestSignalStopsLongRun(t *testing.T) {
	dir := t.TempDir()
	writeShapesImages(t, dir, 4)
	model := filepath.Join(fixture.Root(), "shapes", "model")
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"explain", []string{"explain", "--model", model, "--method", "rise:samples=50000", "--batch", "2", "--out", filepath.Join(dir, "out"), filepath.Join(dir, "imgs")}, "stopped mid-run"},
		{"eval", []string{"eval", "--model", model, "--method", "rise:samples=50000", "--batch", "2", filepath.Join(dir, "imgs")}, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tc.args...)
			cmd.Env = append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")
			stderr := &tfcamLog{header: make(chan struct{})}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			for !strings.Contains(stderr.String(), "a graph run of") {
				select {
				case err := <-done:
					t.Fatalf("ended before its graph run was seen going: %v\n%s", err, stderr.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 143 {
					t.Errorf("exit %v, want 143\n%s", err, stderr.String())
				}
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("still running 2 minutes after SIGTERM:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if tc.name == "explain" {
				if n, _ := countLines(filepath.Join(dir, "out", "results.jsonl")); n != 0 {
					t.Errorf("%d images written: the stopped run's images must not be", n)
				}
			}
		})
	}
}
