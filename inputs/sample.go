package inputs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Sample returns up to n local image files among args, in order, without
// expanding them all: a file named as an argument, else the first images
// met walking a folder (stopping as soon as n are found). Object-store
// URLs, globs, lists and anything unreadable are passed over. It is for a
// quick look at a few of a run's images before the run (keys are not
// made; use Expand for the run itself).
func Sample(args []string, n int) []Input {
	var out []Input
	for _, a := range args {
		if len(out) >= n {
			break
		}
		if IsPrefixURL(a) || strings.Contains(a, "://") || strings.HasPrefix(a, "@") || a == "-" {
			continue
		}
		info, err := os.Stat(a)
		if err != nil {
			continue
		}
		if !info.IsDir() {
			if info.Mode().IsRegular() && imageExts[strings.ToLower(filepath.Ext(a))] {
				out = append(out, Input{Path: a})
			}
			continue
		}
		filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if len(out) >= n {
				return fs.SkipAll
			}
			if d.Type().IsRegular() && imageExts[strings.ToLower(filepath.Ext(p))] {
				out = append(out, Input{Path: p})
			}
			return nil
		})
	}
	return out
}
