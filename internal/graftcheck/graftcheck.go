// Package graftcheck holds what the packages that rely on graft's private
// layouts (cgo's Tensor mirror, tfgraph's null-output test) share to check
// them: a readable field list for errors, and the graft version go.mod
// requires, so that their tests fail on an upgrade until someone has
// re-read graft.
package graftcheck

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
)

// FieldList describes t's fields for an error: name type@offset, in order.
func FieldList(t reflect.Type) string {
	fs := make([]string, t.NumField())
	for i := range fs {
		f := t.Field(i)
		fs[i] = fmt.Sprintf("%s %s@%d", f.Name, f.Type, f.Offset)
	}
	return strings.Join(fs, "; ")
}

// ErrReplaced is returned by GoModVersion when go.mod replaces graft: a
// fork's layouts need their own reading.
var ErrReplaced = errors.New("go.mod replaces github.com/wamuir/graft")

// GoModVersion returns the version of github.com/wamuir/graft that the
// go.mod at path requires. (A test binary's build info lists no
// dependencies, so tests read go.mod.)
func GoModVersion(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	version := ""
	for line := range strings.Lines(string(raw)) {
		if strings.Contains(line, "github.com/wamuir/graft") && strings.Contains(line, "=>") {
			return "", fmt.Errorf("%w (%s)", ErrReplaced, strings.TrimSpace(line))
		}
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "require" {
			f = f[1:]
		}
		if len(f) > 1 && f[0] == "github.com/wamuir/graft" {
			version = f[1]
		}
	}
	if version == "" {
		return "", fmt.Errorf("%s does not require github.com/wamuir/graft", path)
	}
	return version, nil
}
