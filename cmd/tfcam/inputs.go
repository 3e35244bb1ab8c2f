package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// imageExts are the extensions collected when walking directories.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".tif": true, ".tiff": true, ".webp": true,
}

// input is one image to explain.
type input struct {
	// Path is the file to read.
	Path string
	// Key names its outputs: the path relative to the directory argument it
	// was found in, or its base name, without extension; unique in a run.
	Key string
}

// expandInputs turns the command-line arguments into a sorted, de-duplicated
// list of images: files, directories (recursively, image extensions only),
// globs, "@list.txt" files of paths (one per line) and "-" for such a list
// on stdin. Explicitly named files are taken whatever their extension, so
// a bad file is reported rather than silently skipped.
func expandInputs(args []string, stdin io.Reader) ([]input, error) {
	var out []input
	seen := map[string]bool{}
	add := func(path, key string) {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		if seen[abs] {
			return
		}
		seen[abs] = true
		out = append(out, input{Path: path, Key: strings.TrimSuffix(key, filepath.Ext(key))})
	}
	var expand func(arg string) error
	expand = func(arg string) error {
		switch {
		case arg == "-":
			return readList(stdin, "stdin", expand)
		case strings.HasPrefix(arg, "@"):
			f, err := os.Open(arg[1:])
			if err != nil {
				return fmt.Errorf("input list %s: %w", arg[1:], err)
			}
			defer f.Close()
			return readList(f, arg[1:], expand)
		}
		info, err := os.Stat(arg)
		if err != nil {
			matches, gerr := filepath.Glob(arg)
			if gerr != nil || len(matches) == 0 {
				return fmt.Errorf("input %s: no such file, directory or matching glob", arg)
			}
			sort.Strings(matches)
			for _, m := range matches {
				if err := expand(m); err != nil {
					return err
				}
			}
			return nil
		}
		if !info.IsDir() {
			add(arg, filepath.Base(arg))
			return nil
		}
		return filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("walking %s: %w", arg, err)
			}
			if d.IsDir() || !imageExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			rel, err := filepath.Rel(arg, path)
			if err != nil {
				rel = filepath.Base(path)
			}
			add(path, rel)
			return nil
		})
	}
	for _, a := range args {
		if err := expand(a); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	uniqueKeys(out)
	return out, nil
}

func readList(r io.Reader, name string, expand func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := expand(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input list %s: %w", name, err)
	}
	return nil
}

// uniqueKeys suffixes keys that collide (same relative name from different
// places) with a short hash of the path, so outputs never overwrite each other.
func uniqueKeys(in []input) {
	count := map[string]int{}
	for _, x := range in {
		count[x.Key]++
	}
	for i := range in {
		if count[in[i].Key] > 1 {
			sum := sha1.Sum([]byte(in[i].Path))
			in[i].Key += "-" + hex.EncodeToString(sum[:4])
		}
	}
}
