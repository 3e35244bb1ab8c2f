package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tfcam/tfcam/storage"
)

// runMerge is `tfcam merge`: one index of every shard's results.
func runMerge(args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	to := fs.String("to", "-", "where to write the merged lines: a file, or - for stdout")
	check := fs.Bool("check", false, "also check that every file a line names exists (one request per file in a bucket)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: tfcam merge [--check] [--to FILE] OUT

Reads the results of every shard in OUT (an explain --out folder or bucket
URL: results*.jsonl files, or the parts under results*/ in a bucket) and
writes one line per image: the last line of each key (a later run with
--force replaces earlier lines), in key order. Prints counts to stderr;
with --check, exits 1 if a line names a file that is missing.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 1 {
		return usageError("merge takes one explain output (folder or URL)")
	}
	ctx, stop := interruptContext()
	defer stop()
	var w io.Writer = os.Stdout
	if *to != "-" {
		f, err := os.Create(*to)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	st, err := mergeResults(ctx, fs.Arg(0), *check, w)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "merged %d result files: %d images (%d older lines replaced, %d unreadable lines skipped)", st.files, st.images, st.replaced, st.bad)
	if *check {
		fmt.Fprintf(os.Stderr, "; %d files checked, %d missing", st.checked, len(st.missing))
	}
	fmt.Fprintln(os.Stderr)
	for _, m := range st.missing {
		fmt.Fprintf(os.Stderr, "missing: %s\n", m)
	}
	if len(st.missing) > 0 {
		return exitError{1, fmt.Sprintf("%d files named by results are missing", len(st.missing))}
	}
	return nil
}

// mergeStats counts what mergeResults found.
type mergeStats struct {
	files, images, replaced, bad, checked int
	missing                               []string
}

// mergeResults writes the last line of each key found in out's results
// files (in name order: shards, then parts by time) to w, sorted by key.
func mergeResults(ctx context.Context, out string, check bool, w io.Writer) (mergeStats, error) {
	var st mergeStats
	read, exists, names, closeFn, err := resultsSource(ctx, out)
	if err != nil {
		return st, err
	}
	defer closeFn()
	last := map[string][]byte{}
	for _, name := range names {
		data, err := read(name)
		if err != nil {
			return st, err
		}
		st.files++
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<16), 1<<26)
		for sc.Scan() {
			var rec record
			if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Key == "" {
				st.bad++ // a line cut short by a crash
				continue
			}
			if _, seen := last[rec.Key]; seen {
				st.replaced++
			}
			last[rec.Key] = append([]byte(nil), sc.Bytes()...)
		}
	}
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		line := last[k]
		if check {
			var rec record
			json.Unmarshal(line, &rec)
			files := []string{rec.Original}
			for _, m := range rec.Maps {
				files = append(files, m.Overlay, m.Map16, m.NPY)
			}
			for _, f := range files {
				if f == "" {
					continue
				}
				st.checked++
				ok, err := exists(f)
				if err != nil {
					return st, err
				}
				if !ok {
					st.missing = append(st.missing, f)
				}
			}
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	st.images = len(keys)
	return st, bw.Flush()
}

// resultsSource lists out's results files, sorted, with functions to read
// one and to check that an output file exists.
func resultsSource(ctx context.Context, out string) (read func(string) ([]byte, error), exists func(string) (bool, error), names []string, closeFn func(), err error) {
	if !storage.IsURL(out) || strings.HasPrefix(out, "file://") {
		dir := strings.TrimPrefix(out, "file://")
		names, err = filepath.Glob(filepath.Join(dir, "results*.jsonl"))
		if err == nil && len(names) == 0 {
			err = fmt.Errorf("%s has no results*.jsonl: is it an explain --out folder?", dir)
		}
		sort.Strings(names)
		read = os.ReadFile
		exists = func(rel string) (bool, error) {
			_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
			if errors.Is(err, os.ErrNotExist) {
				return false, nil
			}
			return err == nil, err
		}
		return read, exists, names, func() {}, err
	}
	loc, err := storage.Open(ctx, out)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for o, err := range loc.List(ctx, "results") {
		if err != nil {
			loc.Close()
			return nil, nil, nil, nil, err
		}
		if dir := path.Dir(o.Key); strings.HasPrefix(dir, "results") && !strings.Contains(dir, "/") && strings.HasSuffix(o.Key, ".jsonl") {
			names = append(names, o.Key)
		}
	}
	if len(names) == 0 {
		loc.Close()
		return nil, nil, nil, nil, fmt.Errorf("%s has no results parts (results*/*.jsonl): is it an explain --out?", withoutQuery(out))
	}
	sort.Strings(names)
	read = func(k string) ([]byte, error) { return loc.Read(ctx, k, 0) }
	exists = func(k string) (bool, error) { return loc.Exists(ctx, k) }
	return read, exists, names, func() { loc.Close() }, nil
}
