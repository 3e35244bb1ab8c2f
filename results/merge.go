package results

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tfcam/tfcam/storage"
)

// MergeStats counts what Merge found.
type MergeStats struct {
	// Files results files were read; Images keys were written; Replaced
	// older lines of a key were dropped (a --force rerun's wins); Bad
	// lines could not be read (cut short by a crash) and were skipped.
	Files, Images, Replaced, Bad int
	// Checked files named by the lines were looked for (check); Missing
	// are the ones not found.
	Checked int
	Missing []string
}

// Merge writes the last line of each key found in out's results
// files (in name order: shards, then parts by time) to w, sorted by key.
func Merge(ctx context.Context, out string, check bool, w io.Writer) (MergeStats, error) {
	var st MergeStats
	read, exists, names, closeFn, err := Source(ctx, out)
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
		st.Files++
		for line := range lines(data) {
			var rec Record
			if json.Unmarshal(line, &rec) != nil || rec.Key == "" {
				st.Bad++ // a line cut short by a crash
				continue
			}
			if _, seen := last[rec.Key]; seen {
				st.Replaced++
			}
			last[rec.Key] = line
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
			var rec Record
			json.Unmarshal(line, &rec)
			files := []string{rec.Original}
			for _, m := range rec.Maps {
				files = append(files, m.Overlay, m.Map16, m.NPY)
			}
			for _, f := range files {
				if f == "" {
					continue
				}
				st.Checked++
				ok, err := exists(f)
				if err != nil {
					return st, err
				}
				if !ok {
					st.Missing = append(st.Missing, f)
				}
			}
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	st.Images = len(keys)
	return st, bw.Flush()
}

// Source lists out's results files, sorted, with functions to read
// one and to check that an output file exists.
func Source(ctx context.Context, out string) (read func(string) ([]byte, error), exists func(string) (bool, error), names []string, closeFn func(), err error) {
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
		if dir := path.Dir(o.Key); o.Err == nil && strings.HasPrefix(dir, "results") && !strings.Contains(dir, "/") && strings.HasSuffix(o.Key, ".jsonl") {
			names = append(names, o.Key)
		}
	}
	if len(names) == 0 {
		loc.Close()
		return nil, nil, nil, nil, fmt.Errorf("%s has no results parts (results*/*.jsonl): is it an explain --out?", storage.WithoutQuery(out))
	}
	sort.Strings(names)
	read = func(k string) ([]byte, error) { return loc.Read(ctx, k, 0) }
	exists = func(k string) (bool, error) { return loc.Exists(ctx, k) }
	return read, exists, names, func() { loc.Close() }, nil
}
