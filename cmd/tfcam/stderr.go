package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file keeps TensorFlow's log lines off the console. TensorFlow 2.18
// has two loggers: its own, which TF_CPP_MIN_LOG_LEVEL governs (read at
// its first line, so setting the variable at start-up is enough), and a
// private copy of Abseil's, which nothing outside the library can
// configure and which prints "WARNING: All log messages before
// absl::InitializeLog() is called are written to STDERR" and "I0000 ...
// MLIR V1 optimization pass is not enabled" on every first graph run.
// Both write to file descriptor 2, so tfcam routes that descriptor through
// a filter process (`tfcam __stderr-filter LEVEL`, filterCommand) that
// drops the lines below the level and passes on everything else. tfcam's
// own messages go straight to the terminal (os.Stderr becomes a copy of
// the original descriptor), so progress and terminal detection are
// unchanged. The filter is a process, not a goroutine, so that a crash's
// last words (a TensorFlow CHECK failure before abort(), Go's panic trace)
// reach the terminal: the filter outlives tfcam, drains the pipe and exits.

// filterCommand is the hidden command that runs the filter.
const filterCommand = "__stderr-filter"

// cliLogLevel is the TF_CPP_MIN_LOG_LEVEL the command uses unless the user
// set one: 2, errors only. TensorFlow's warnings on tfcam's path are
// decoder notes about files tfcam diagnoses itself (PNG "iCCP: known
// incorrect sRGB profile") and allocation notes that tfcam's memory
// budgets already bound.
const cliLogLevel = 2

// tensorFlowLogLevel returns the level TensorFlow's lines are filtered at,
// setting TF_CPP_MIN_LOG_LEVEL to cliLogLevel when the user did not set
// it. A user's own value is kept: 0 shows everything, filter included.
func tensorFlowLogLevel() int {
	v, set := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL")
	if !set {
		os.Setenv("TF_CPP_MIN_LOG_LEVEL", strconv.Itoa(cliLogLevel))
		return cliLogLevel
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0 // TensorFlow reads junk as 0 too
	}
	return min(n, 3)
}

// needsTensorFlow reports whether a command line may run TensorFlow and
// so print its lines: not help, not `tfcam methods`.
func needsTensorFlow(name string, args []string) bool {
	if name == "methods" {
		return false
	}
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return false
		case "--":
			return true
		}
	}
	return true
}

// filterStderr routes descriptor 2 through a filter process keeping the
// lines at or above level. The returned function, called before exiting,
// closes the route and waits (at most 2 s) for the filter to pass on
// what is left. When anything fails nothing is routed: TensorFlow's lines
// then show, which is noisy, never wrong.
func filterStderr(level int) (done func()) {
	noop := func() {}
	if level <= 0 {
		return noop
	}
	exe, err := os.Executable()
	if err != nil {
		return noop
	}
	orig, err := unix.Dup(2)
	if err != nil {
		return noop
	}
	unix.CloseOnExec(orig)
	console := os.NewFile(uintptr(orig), "/dev/stderr")
	r, w, err := os.Pipe()
	if err != nil {
		console.Close()
		return noop
	}
	cmd := exec.Command(exe, filterCommand, strconv.Itoa(level))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, nil, console
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		console.Close()
		return noop
	}
	r.Close()
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		w.Close()
		cmd.Process.Kill()
		cmd.Wait()
		console.Close()
		return noop
	}
	w.Close()
	os.Stderr = console
	// A write to a closed pipe fails instead of killing tfcam (only if
	// the filter was killed on its own).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return func() {
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			unix.Dup2(int(null.Fd()), 2) // the last write end: the filter sees EOF
			null.Close()
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
		}
	}
}

// runStderrFilter is the filter process: standard input to standard
// error, lines below the level dropped, until the input ends. It ignores
// the signals that stop tfcam (a Ctrl-C reaches the whole process group):
// it ends when tfcam's side of the pipe closes, so nothing tfcam wrote on
// its way out is lost.
func runStderrFilter(args []string) {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	level := 0
	if len(args) > 0 {
		level, _ = strconv.Atoi(args[0])
	}
	copyKept(os.Stderr, os.Stdin, level)
}

// copyKept copies lines from r to w, dropping TensorFlow's log lines
// below level (keepLine).
func copyKept(w io.Writer, r io.Reader, level int) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" && keepLine(line, level) {
			io.WriteString(w, line)
		}
		if err != nil {
			return
		}
	}
}

var (
	// abslLine is an Abseil log line: "I0000 00:00:1796665229.939538
	// 9205 file.cc:401] message" (severity, MMDD, time, thread, place).
	abslLine = regexp.MustCompile(`^([IWEF])\d{4} \d\d:\d\d:[\d.]+ +\d+ [^ \]]+:\d+\] `)
	// tslLine is a line of TensorFlow's own logger: "2026-12-07
	// 17:40:32.454811: W tensorflow/core/lib/png/png_io.cc:89] message".
	tslLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:[\d.]+: ([IWEF]) [^ \]]+:\d+\] `)
)

// abslPreamble is the line Abseil prints before its first message when
// the program did not initialise it, which TensorFlow's C library never
// does.
const abslPreamble = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"

// keepLine reports whether a line written to descriptor 2 is shown at
// TensorFlow log level (0 everything, 1 no information, 2 no warnings, 3
// fatal errors only). Only TensorFlow's and Abseil's log lines are ever
// dropped; anything else (tfcam's, Go's, a library's raw message) is
// kept.
func keepLine(line string, level int) bool {
	if level <= 0 {
		return true
	}
	if strings.HasPrefix(line, abslPreamble) {
		return false
	}
	m := abslLine.FindStringSubmatch(line)
	if m == nil {
		m = tslLine.FindStringSubmatch(line)
	}
	if m == nil {
		return true
	}
	return m[1] == "F" || strings.Index("IWE", m[1]) >= level
}
