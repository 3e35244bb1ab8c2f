package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/results"
)

// readmeCommand is one shell command of a ```sh block of README.md:
// continuation lines joined, the comment dropped.
type readmeCommand struct {
	line int    // README.md line the command starts on
	text string // what bash runs
}

// readmeServeAddr is where the README's curl lines expect `tfcam serve`:
// its default --addr. The test serves on a free port and points them there.
const readmeServeAddr = "127.0.0.1:8501"

// readmeShellBlocks returns the commands of every ```sh block of the
// markdown file path, one slice per block.
func readmeShellBlocks(t *testing.T, path string) [][]readmeCommand {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]readmeCommand
	var block []readmeCommand
	inBlock, pending, start := false, "", 0
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case !inBlock && strings.TrimSpace(line) == "```sh":
			inBlock, block = true, nil
			continue
		case !inBlock:
			continue
		case strings.TrimSpace(line) == "```":
			if pending != "" {
				t.Fatalf("README.md:%d: the command ends in a line continuation (\\) at the end of its block", start)
			}
			blocks, inBlock = append(blocks, block), false
			continue
		}
		if pending == "" {
			start = i + 1
		}
		if rest, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			pending += strings.TrimSpace(rest) + " "
			continue
		}
		text := strings.TrimSpace(dropShellComment(pending + strings.TrimSpace(line)))
		pending = ""
		if text != "" {
			block = append(block, readmeCommand{line: start, text: text})
		}
	}
	if inBlock {
		t.Fatalf("%s: a ```sh block is not closed", path)
	}
	return blocks
}

// dropShellComment cuts s at a '#' that starts a word outside quotes, as
// bash reads a comment.
func dropShellComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// flagValue is the value of --name in a command's words ("--name v" or
// "--name=v"), "" when absent.
func flagValue(words []string, name string) string {
	for i, w := range words {
		for _, dash := range []string{"-", "--"} {
			if w == dash+name && i+1 < len(words) {
				return words[i+1]
			}
			if v, ok := strings.CutPrefix(w, dash+name+"="); ok {
				return v
			}
		}
	}
	return ""
}

// classLine is one class of `tfcam predict`'s output: score, index, label.
var classLine = regexp.MustCompile(`(?m)^\s+[0-9.]+\s+[0-9]+\s+\S`)

// TestREADMECommands runs every command of README.md's ```sh blocks as a
// reader would after `make setup` and `make build`: with bash, from a
// directory that mirrors the repository root by symlinks (.models,
// testdata, bin/tfcam; this test binary is tfcam there, see TestMain), so
// outputs land in a temporary directory, never in the checkout. `make`
// lines are skipped (the Makefile's own targets). Every command must exit
// 0, and each tfcam command shows what it is shown for: predict prints
// classes, explain writes results lines whose files exist, merge its
// index, eval its report. `bin/tfcam serve` runs in the background on a
// free port (the README's line gives no --addr: the default, 127.0.0.1:8501,
// is what its curl lines name, and the test points them at the real
// port); the curl lines after it must get a 200 JSON answer with
// predictions, and the server must exit 0 on SIGTERM.
func TestREADMECommands(t *testing.T) {
	fixture.Need(t)
	fixture.Slow(t, "runs the README's commands: the demo model, an eval, a server")
	_, file, _, _ := runtime.Caller(0)
	repo, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{".models/efficientnet_lite0/model/saved_model.pb", "testdata/fixtures/shapes/model/saved_model.pb"} {
		if _, err := os.Stat(filepath.Join(repo, need)); err != nil {
			t.Fatalf("the README's commands need %s (%v): run `make setup`", need, err)
		}
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the README's serve example needs curl: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for link, target := range map[string]string{".models": filepath.Join(repo, ".models"), "testdata": filepath.Join(repo, "testdata"), "bin/tfcam": self} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "TFCAM_RUN_MAIN=1", "TF_CPP_MIN_LOG_LEVEL=2")

	blocks := readmeShellBlocks(t, filepath.Join(repo, "README.md"))
	seen := map[string]bool{}
	for _, block := range blocks {
		var srv *readmeServer
		for _, c := range block {
			words := strings.Fields(c.text)
			where := fmt.Sprintf("README.md:%d: %s", c.line, c.text)
			switch words[0] {
			case "make":
				continue
			case "tfcam":
				t.Errorf("%s\nwrite bin/tfcam, the binary `make build` writes (the README says so once)", where)
				continue
			case "bin/tfcam":
				if len(words) < 2 {
					t.Errorf("%s\nno tfcam command", where)
					continue
				}
				seen[words[1]] = true
				if words[1] == "serve" {
					if srv != nil {
						t.Fatalf("%s\na second tfcam serve in one block", where)
					}
					if flagValue(words, "addr") != "" {
						t.Fatalf("%s\nleave out --addr: the curl lines name the default, %s, and the test serves on a free port", where, readmeServeAddr)
					}
					srv = startReadmeServer(t, dir, env, c.text, where)
					continue
				}
			case "curl":
				seen["curl"] = true
				if srv == nil {
					t.Fatalf("%s\na curl line with no bin/tfcam serve before it in its block", where)
				}
				if !strings.Contains(c.text, readmeServeAddr) {
					t.Fatalf("%s\nthe URL must name %s, where the serve line above listens", where, readmeServeAddr)
				}
				c.text = strings.ReplaceAll(c.text, readmeServeAddr, srv.addr) + ` -w '\nHTTP %{http_code}\n'`
			}
			stdout, stderr := runReadmeCommand(t, dir, env, c.text, where)
			checkReadmeOutput(t, dir, words, stdout, stderr, where)
		}
		if srv != nil {
			srv.stop(t)
		}
	}
	// The command kinds, so that losing one from the README is seen.
	for _, kind := range []string{"layers", "predict", "explain", "merge", "version", "eval", "serve", "curl"} {
		if !seen[kind] {
			t.Errorf("README.md's sh blocks have no %s example", kind)
		}
	}
}

// runReadmeCommand runs one command with bash in dir and fails t unless it
// exits 0.
func runReadmeCommand(t *testing.T, dir string, env []string, text, where string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", text)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	err := cmd.Run()
	t.Logf("%s (%.1fs)", where, time.Since(began).Seconds())
	if err != nil {
		t.Fatalf("%s\nfailed (%v)\nstdout:\n%s\nstderr:\n%s", where, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// checkReadmeOutput checks that a command did what the README shows it
// for; words is the command split at spaces.
func checkReadmeOutput(t *testing.T, dir string, words []string, stdout, stderr, where string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s\n%s\nstdout:\n%s\nstderr:\n%s", where, fmt.Sprintf(format, args...), clip(stdout), clip(stderr))
	}
	if words[0] == "curl" {
		body, code, _ := strings.Cut(strings.TrimRight(stdout, "\n"), "\nHTTP ")
		var answer struct {
			Predictions []struct {
				Maps []json.RawMessage `json:"maps"`
			} `json:"predictions"`
		}
		if code != "200" {
			fail("HTTP status %q, want 200", code)
		} else if err := json.Unmarshal([]byte(body), &answer); err != nil || len(answer.Predictions) == 0 || len(answer.Predictions[0].Maps) == 0 {
			fail("want a JSON answer with predictions and maps (%v)", err)
		}
		return
	}
	if words[0] != "bin/tfcam" {
		return // exit 0 is all a shell helper line (ls > list.txt) shows
	}
	switch words[1] {
	case "layers":
		if !strings.Contains(stdout, "default target layer") {
			fail("want the layer table with its default marked")
		}
	case "predict":
		if !classLine.MatchString(stdout) {
			fail("want class lines (score, class, label)")
		}
	case "version":
		if !strings.HasPrefix(stdout, "tfcam ") {
			fail("want the version line first")
		}
	case "explain":
		out := flagValue(words, "out")
		if out == "" {
			fail("the README's explain examples give --out (their outputs are checked)")
			return
		}
		if !strings.Contains(stderr, " 0 failed") {
			fail("want every image explained (0 failed)")
		}
		recs := readResultLines(t, filepath.Join(dir, out, "results.jsonl"), where)
		for _, r := range recs {
			if len(r.Maps) == 0 {
				fail("%s: no maps in its results line", r.Key)
			}
			for _, mp := range r.Maps {
				for _, f := range []string{mp.Overlay, mp.Map16} {
					if _, err := os.Stat(filepath.Join(dir, out, f)); f != "" && err != nil {
						fail("%s: %v", r.Key, err)
					}
				}
			}
		}
	case "merge":
		to := flagValue(words, "to")
		if to == "" {
			fail("the README's merge example gives --to (its index is checked)")
			return
		}
		readResultLines(t, filepath.Join(dir, to), where)
	case "eval":
		out := flagValue(words, "out")
		if out == "" {
			fail("the README's eval example gives --out (its report is checked)")
			return
		}
		for _, f := range []string{"report.md", "report.html", "metrics.json"} {
			if st, err := os.Stat(filepath.Join(dir, out, f)); err != nil || st.Size() == 0 {
				fail("want a report: %s (%v)", f, err)
			}
		}
	}
}

// clip shortens a command's output for a failure message.
func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// readResultLines reads a results.jsonl (or merge's index), failing t
// unless it has at least one line and every line is a record.
func readResultLines(t *testing.T, path, where string) []results.Record {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s\n%v", where, err)
		return nil
	}
	var recs []results.Record
	for line := range bytes.Lines(raw) {
		var r results.Record
		if err := json.Unmarshal(line, &r); err != nil || r.Key == "" {
			t.Errorf("%s\n%s: bad line %q (%v)", where, path, line, err)
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		t.Errorf("%s\n%s: no results lines", where, path)
	}
	return recs
}

// readmeServer is the README's `bin/tfcam serve`, running in the background.
type readmeServer struct {
	*served
	where string
	addr  string // host:port it listens on
}

// startReadmeServer starts the serve command text on a free port, and
// waits until its /readyz says ready.
func startReadmeServer(t *testing.T, dir string, env []string, text, where string) *readmeServer {
	t.Helper()
	began := time.Now()
	// exec: the signal of stop reaches tfcam itself, not bash.
	cmd := exec.Command("bash", "-c", "exec "+text+" --addr 127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, env
	s := &readmeServer{served: startServeCmd(t, cmd), where: where}
	s.addr = s.url
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Logf("%s (ready on %s after %.1fs)", where, s.addr, time.Since(began).Seconds())
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s\n/readyz not ready in 2 minutes (%v):\n%s", where, err, s.stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and fails t unless the server exits 0.
func (s *readmeServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("%s\nexited with %v on SIGTERM, want 0:\n%s", s.where, err, s.stderr())
		}
	case <-time.After(2 * time.Minute): // a hang guard
		t.Fatalf("%s\ndid not exit 2 minutes after SIGTERM:\n%s", s.where, s.stderr())
	}
}
