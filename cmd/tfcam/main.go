// Command tfcam explains TensorFlow image classifiers with class-activation
// maps. Run `tfcam help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
)

// command is one tfcam subcommand.
type command struct {
	name    string
	summary string
	// run runs the command; ctx is cancelled by the first SIGINT or
	// SIGTERM (interruptContext).
	run func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"explain", "write class-activation maps, overlays and a gallery for images", runExplain},
		{"eval", "score methods on a model: pointing games, Average Drop, Deletion/Insertion AUC, plots", runEval},
		{"export", "write the model as a SavedModel whose signatures also return maps", runExport},
		{"layers", "list a model's candidate target layers (default marked)", runLayers},
		{"merge", "one index of every shard's explain results (folder or bucket)", runMerge},
		{"methods", "list the explanation methods, their options and cost", runMethods},
		{"predict", "print a model's top predictions for images", runPredict},
		{"serve", "serve explanations over HTTP (TensorFlow Serving's API shape, dynamic batching)", runServe},
		{"version", "print tfcam's and TensorFlow's versions and the devices TensorFlow sees", runVersion},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "tfcam: class-activation maps for TensorFlow image classifiers\n\nUsage: tfcam COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun `tfcam COMMAND -h` for a command's flags and examples; flags may come\nbefore or after the inputs (after \"--\" everything is an input).\n")
}

func main() {
	level := tensorFlowLogLevel()
	if len(os.Args) > 1 && os.Args[1] == filterCommand {
		runStderrFilter(os.Args[2:])
		return
	}
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			flush := func() {}
			if needsTensorFlow(c.name, os.Args[2:]) {
				flush = filterStderr(level)
			}
			ctx, stop := interruptContext()
			err := c.run(ctx, os.Args[2:])
			stop()
			code := exitCode(c.name, err)
			flush()
			os.Exit(code)
		}
	}
	fmt.Fprintf(os.Stderr, "tfcam: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

// flagError turns a flag-parsing error into exit code 2 (bad usage); the
// flag package has already printed it with the usage. -h stays help.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return exitError{code: 2}
}

// exitCode prints err and maps it to the process exit code: 0 success, 1
// failure (or some images failed), 2 bad usage, 130 interrupted.
func exitCode(name string, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) && ee.msg == "" {
		return ee.code // already reported (the flag package prints its own errors)
	}
	fmt.Fprintf(os.Stderr, "tfcam %s: %v\n", name, err)
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
