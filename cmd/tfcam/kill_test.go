package main

import (
	"bytes"
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
	"syscall"
	"testing"
	"time"

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

// TestKillAndResume kills `tfcam explain` with SIGKILL at random moments of
// a 200-image job, again and again, then lets a last run finish: every
// image must be in results.jsonl exactly once, and every file a line names
// must exist and decode. The seed is logged; TFCAM_KILL_SEED repeats a run.
func TestKillAndResume(t *testing.T) {
	dir := t.TempDir()
	paths := writeShapesImages(t, dir, 200)
	out := filepath.Join(dir, "out")
	seed := time.Now().UnixNano()
	if s := os.Getenv("TFCAM_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d (TFCAM_KILL_SEED to repeat)", seed)
	args := []string{"explain", "--model", filepath.Join(fixture.Root(), "shapes", "model"), "--method", "gradcam,hirescam",
		"--save", "overlay,map16,tfrecord", "--batch", "8", "--out", out, filepath.Join(dir, "imgs")}
	res := filepath.Join(out, "results.jsonl")
	// run starts tfcam and, for target > 0, kills it with SIGKILL once
	// results.jsonl has target more lines than at the start (polled every
	// 5 ms, so the kill lands anywhere in the batches' writing), or for
	// target < 0 after -target milliseconds (during start-up).
	run := func(target int) (killed bool, log string) {
		base, _ := countLines(res)
		cmd, stderr, done := startTfcam(t, args...)
		if target != 0 {
			deadline := time.After(time.Duration(-target) * time.Millisecond)
			if target > 0 {
				deadline = nil
			}
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case err := <-done:
					return false, fmt.Sprintf("finished before the kill (%v): %s", err, stderr.String())
				case <-deadline:
				case <-tick.C:
					if n, _ := countLines(res); target < 0 || n < base+target {
						continue
					}
				}
				time.Sleep(time.Duration(rng.Intn(40)) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return true, stderr.String()
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("last run: %v\n%s", err, stderr.String())
		}
		return false, stderr.String()
	}
	kills := 0
	for i := 0; i < 12; i++ {
		// Two kills during start-up, the others after 1–30 more images.
		target := 1 + rng.Intn(30)
		if i < 2 {
			target = -(100 + rng.Intn(600))
		}
		killed, _ := run(target)
		if killed {
			kills++
		}
		lines, _ := countLines(res)
		t.Logf("run %d: target %d, killed %v: %d lines", i, target, killed, lines)
	}
	_, log := run(0)
	t.Logf("%d kills; last run: %s", kills, lastLine(log))
	if kills < 10 {
		t.Errorf("only %d of 12 runs were killed; the test did not exercise crashes", kills)
	}
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
	fixture.Python(t, "check_tfrecord.py", filepath.Join(out, "maps.tfrecord"), "400", "4")
	if tmp, _ := filepath.Glob(filepath.Join(out, ".tfcam-tmp-*", "*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
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
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if n, _ := countLines(res); n > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no image done within 60 s: %s", stderr.String())
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
