package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tfcam/tfcam/internal/atomicfile"
	"github.com/tfcam/tfcam/results"
)

// mergeHelp is `tfcam merge -h`.
var mergeHelp = help{
	synopsis: []string{"tfcam merge [--check] [--to FILE] OUT"},
	about: `Reads the results of every shard in OUT (an explain --out folder or bucket
URL: results*.jsonl files, or the parts under results*/ in a bucket) and
writes one line per image: the last line of each key (a later run with
--force replaces earlier lines), in key order. Prints counts to stderr;
with --check, exits 1 if a line names a file that is missing.`,
	examples: []example{
		{"one index of a sharded run's folder, on stdout", "tfcam merge out"},
		{"into a file, checking every map and overlay exists", "tfcam merge out --check --to out/all.jsonl"},
		{"a bucket's parts", "tfcam merge --to all.jsonl s3://bucket/cams/"},
	},
	main: []string{"to", "check"},
}

// runMerge is `tfcam merge`: one index of every shard's results.
func runMerge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	to := fs.String("to", "-", "where to write the merged lines: a file, or - for stdout")
	check := fs.Bool("check", false, "also check that every file a line names exists (one request per file in a bucket)")
	fs.Usage = mergeHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 1 {
		return usageError("merge takes one explain output (folder or URL)")
	}
	var st results.MergeStats
	var err error
	if *to == "-" {
		st, err = results.Merge(ctx, fs.Arg(0), *check, os.Stdout)
	} else {
		// Through a temporary file, renamed over --to once complete: --to
		// may be one of the files merged (OUT/results.jsonl), which must
		// be read before it is replaced.
		err = atomicfile.Write(*to, func(w io.Writer) error {
			st, err = results.Merge(ctx, fs.Arg(0), *check, w)
			return err
		}, atomicfile.Options{})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "merged %d result files: %d images (%d older lines replaced, %d unreadable lines skipped)", st.Files, st.Images, st.Replaced, st.Bad)
	if *check {
		fmt.Fprintf(os.Stderr, "; %d files checked, %d missing", st.Checked, len(st.Missing))
	}
	fmt.Fprintln(os.Stderr)
	for _, m := range st.Missing {
		fmt.Fprintf(os.Stderr, "missing: %s\n", m)
	}
	if len(st.Missing) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d files named by results are missing; their images count as done, so a rerun skips them: redo them with tfcam explain --force and those images (e.g. an @list of their inputs)", len(st.Missing))}
	}
	return nil
}
