package inputs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/storage"
)

// imageExts are the extensions collected when walking directories.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".tif": true, ".tiff": true, ".webp": true,
}

// Input is one image to explain.
type Input struct {
	// Path is the file to read (with imagefile.ReadFile: it may have become
	// a pipe since it was found).
	Path string
	// Key names its output folder, OutputDir(out, Key): a slash-separated
	// path, unique in a run and stable across runs (see keys.go).
	Key string
}

// Reasons an input path is reported and skipped, for errors.Is; the
// errors passed to Expand' bad also wrap the fs error (fs.ErrNotExist,
// fs.ErrPermission, syscall.ELOOP) or imagefile.ErrNotRegular.
var (
	// ErrNoMatch: an argument is no existing path, and as a glob pattern it
	// matches nothing. It wraps fs.ErrNotExist.
	ErrNoMatch error = &cause{"no such file, and no file matches it as a glob pattern", fs.ErrNotExist}
	// ErrDanglingLink: a symbolic link whose target does not exist. It
	// wraps fs.ErrNotExist.
	ErrDanglingLink error = &cause{"dangling symbolic link", fs.ErrNotExist}
	// ErrDuplicateKey: another input of the run has the same output folder
	// (or one inside or around it).
	ErrDuplicateKey = errors.New("same output folder as another input")
)

// cause is a reason that wraps a standard error without repeating its text.
type cause struct {
	msg string
	err error
}

func (c *cause) Error() string { return c.msg }
func (c *cause) Unwrap() error { return c.err }

// Expand turns the command-line arguments into a sorted,
// de-duplicated list of images:
//
//   - a file is taken whatever its extension (so a bad file is reported
//     rather than silently skipped); a symbolic link given explicitly is
//     followed;
//   - a folder is walked recursively for files with image extensions
//     (imageExts, any case); a symlinked folder named as an argument, with
//     or without a trailing slash, is walked. Inside a walk, symbolic links
//     to files are taken, and links to folders followed once the real
//     trees of all arguments are walked, each folder once (by device and
//     inode): a link back up the tree, to another folder argument or to a
//     folder already walked is not followed, so loops end and no image is
//     found twice under two keys. A subfolder that is also an argument is
//     walked as that argument (its keys relative to it);
//   - an argument that is no existing path and contains a glob
//     metacharacter (* ? [) is expanded with filepath.Glob, each match
//     then taken as if it were an argument; an existing path is never
//     expanded, so "photo[1].jpg" is that file;
//   - "@list.txt" reads a list of image files, one path per line (blank
//     lines and lines starting with '#' skipped, spaces around a path
//     trimmed), and "-" such a list on stdin. List lines are literal file
//     paths: no globs, no nested lists, no folders. A list may be a pipe
//     (@<(find ...)): it is read as it comes.
//
// A file reached through several arguments (a folder, and a file in it) is
// taken once, with the key of the first of them (see keys.go for keys).
//
// A path that cannot be used is passed to bad, with the reason, and
// skipped, and the rest goes on: a missing file or a dangling link
// (fs.ErrNotExist), a symlink loop (syscall.ELOOP), a file or folder that
// cannot be read (fs.ErrPermission), a named pipe, device, socket or a
// folder where a list names files (imagefile.ErrNotRegular, never opened),
// a bad glob (filepath.ErrBadPattern) or one that matches nothing
// (ErrNoMatch), a file whose output folder another input already has
// (ErrDuplicateKey: the later one in path order is skipped). Nothing is
// opened but folders and lists: images are read later, with
// imagefile.ReadFile.
//
// The error is for what makes the whole command meaningless: stdin named
// by "-" cannot be read, or ctx is done (Ctrl-C during a long walk or
// listing: lists read from object stores and prefix listings stop with it).
func Expand(ctx context.Context, args []string, stdin io.Reader, bad func(path string, err error)) ([]Input, error) {
	in, err := ExpandFiles(ctx, args, stdin, bad)
	if err != nil {
		return nil, err
	}
	return uniqueKeys(in, bad), nil
}

// ExpandFiles is Expand without the check that keys are unique, for
// commands that write no per-image folders (eval, predict): two images of
// one base name named from two folders are both taken.
func ExpandFiles(ctx context.Context, args []string, stdin io.Reader, bad func(path string, err error)) ([]Input, error) {
	e := &expander{ctx: ctx, stdin: stdin, bad: bad, dirs: map[fileID]bool{}, pool: &storage.Pool{}}
	defer e.pool.Close()
	for i, a := range args {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e.arg = i
		if err := e.expand(a); err != nil {
			return nil, err
		}
	}
	// Walk the real trees first, then the symlinked folders met in them,
	// each folder once: a link to a folder argument, to an ancestor or to
	// a folder already walked is not followed, so no loop recurses and no
	// image is found twice under two keys.
	for _, r := range e.roots {
		e.arg = r.arg
		e.walk(r.path, nil)
	}
	for len(e.links) > 0 {
		l := e.links[0]
		e.links = e.links[1:]
		e.arg = l.arg
		e.walk(l.path, l.rel)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.unique(), nil
}

// expander holds one ExpandFiles call's state.
type expander struct {
	ctx   context.Context // list reads and prefix listings
	stdin io.Reader
	bad   func(path string, err error)
	found []found
	arg   int             // index of the argument being expanded
	pool  *storage.Pool   // buckets of lists read from object stores
	dirs  map[fileID]bool // folders walked or to walk
	roots []folder        // folder arguments, walked after all arguments are read
	links []folder        // symlinked folders met in walks, followed after the real trees
}

// folder is a folder to walk: its path, its path below the argument and
// the argument's index.
type folder struct {
	path string
	rel  []string
	arg  int
}

// found is a file found, with the index of the argument it came through.
type found struct {
	Input
	arg int
}

// origin says how a path reached the expander: it decides whether a
// folder is walked and whether a missing path is tried as a glob.
type origin int

const (
	fromArg  origin = iota // a command-line argument
	fromGlob               // a glob match: like an argument, never globbed again
	fromList               // a list line: a literal file path
)

// expand adds what one argument names.
func (e *expander) expand(a string) error {
	switch {
	case a == "-":
		if err := e.list(e.stdin, "stdin"); err != nil {
			return fmt.Errorf("reading the input list on stdin: %w", err)
		}
		return nil
	case strings.HasPrefix(a, "@") && storage.IsURL(a[1:]):
		data, err := e.pool.Read(e.ctx, a[1:], maxListBytes)
		if err != nil {
			e.bad(a[1:], fmt.Errorf("input list: %w", err))
			return nil
		}
		if err := e.list(bytes.NewReader(data), a[1:]); err != nil {
			e.bad(a[1:], fmt.Errorf("reading the input list: %w", err))
		}
		return nil
	case storage.IsURL(a):
		e.url(a)
		return nil
	case strings.HasPrefix(a, "@"):
		name := a[1:]
		// A list may be a pipe (process substitution), never a device:
		// @/dev/urandom must not be read as endless lines.
		info, err := os.Stat(name)
		if err != nil {
			e.bad(name, statError("input list", err))
			return nil
		}
		if m := info.Mode(); !m.IsRegular() && m&fs.ModeNamedPipe == 0 {
			e.bad(name, fmt.Errorf("input list: %w: it is %s", imagefile.ErrNotRegular, imagefile.FileKind(m)))
			return nil
		}
		f, err := os.Open(name)
		if err != nil {
			e.bad(name, statError("input list", err))
			return nil
		}
		defer f.Close()
		if err := e.list(f, name); err != nil {
			e.bad(name, fmt.Errorf("reading the input list: %w", unwrapPath(err)))
		}
		return nil
	}
	e.path(a, fromArg)
	return nil
}

// list adds the files a list names, one per line.
func (e *expander) list(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e.path(line, fromList)
	}
	return sc.Err()
}

// maxListBytes bounds an input list read from an object store.
const maxListBytes = 1 << 30

// url adds what an object-store URL names: the object itself when its
// name has an image extension, else every image under it as a folder
// (keys relative to it, as for a walked folder). A file:// URL is the
// local path it names.
func (e *expander) url(raw string) {
	if strings.HasPrefix(raw, "file://") {
		u, err := url.Parse(raw)
		if err != nil {
			e.bad(raw, err)
			return
		}
		e.path(u.Path, fromArg)
		return
	}
	_, key, err := storage.Split(raw)
	if err != nil {
		e.bad(raw, err)
		return
	}
	if imageExts[strings.ToLower(path.Ext(key))] {
		e.add(raw, WalkKey(strings.Split(key, "/")))
		return
	}
	for in := range StreamPrefix(e.ctx, raw, e.bad) {
		e.add(in.Path, in.Key)
	}
}

// IsPrefixURL reports whether an argument is an object-store prefix (its
// images are listed) rather than an object, a list or a local path.
func IsPrefixURL(a string) bool {
	if !storage.IsURL(a) || strings.HasPrefix(a, "file://") {
		return false
	}
	_, key, err := storage.Split(a)
	return err == nil && !imageExts[strings.ToLower(path.Ext(key))]
}

// StreamPrefix yields the images under an object-store prefix as the
// listing pages arrive, keyed by their path below it as for a walked
// folder, without ever holding the listing. A listing error, or a prefix
// with no image, is passed to bad.
func StreamPrefix(ctx context.Context, raw string, bad func(path string, err error)) iter.Seq[Input] {
	return func(yield func(Input) bool) {
		loc, err := storage.Open(ctx, raw)
		if err != nil {
			bad(raw, err)
			return
		}
		defer loc.Close()
		n := 0
		for o, err := range loc.List(ctx, "") {
			if err != nil {
				bad(raw, err)
				return
			}
			if !imageExts[strings.ToLower(path.Ext(o.Key))] {
				continue
			}
			n++
			if o.Err != nil {
				bad(storage.Join(raw, o.Key), o.Err)
				continue
			}
			if !yield(Input{Path: storage.Join(raw, o.Key), Key: WalkKey(strings.Split(o.Key, "/"))}) {
				return
			}
		}
		if n == 0 {
			bad(raw, fmt.Errorf("%w: no image (%s) under this prefix", ErrNoMatch, extList()))
		}
	}
}

// extList is imageExts for messages.
func extList() string {
	var exts []string
	for x := range imageExts {
		exts = append(exts, x)
	}
	sort.Strings(exts)
	return strings.Join(exts, " ")
}

// path adds p: a file, a folder to walk, or (from an argument) a glob.
func (e *expander) path(p string, from origin) {
	if storage.IsURL(p) { // a list line naming an object
		e.url(p)
		return
	}
	info, err := os.Lstat(p)
	if err != nil {
		if from == fromArg && errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(p, "*?[") {
			e.glob(p)
			return
		}
		e.bad(p, statError("", err))
		return
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		if info, err = followLink(p); err != nil {
			e.bad(p, err)
			return
		}
	}
	switch m := info.Mode(); {
	case m.IsRegular():
		e.add(p, FileKey(p))
	case m.IsDir() && from != fromList:
		if e.enter(info) { // else the same folder, given again
			e.roots = append(e.roots, folder{path: p, arg: e.arg})
		}
	case m.IsDir():
		e.bad(p, fmt.Errorf("%w: it is a directory; a list names image files, give folders as arguments", imagefile.ErrNotRegular))
	default:
		e.bad(p, fmt.Errorf("%w: it is %s", imagefile.ErrNotRegular, imagefile.FileKind(m)))
	}
}

// glob adds the matches of pattern, each as if it were an argument.
func (e *expander) glob(pattern string) {
	matches, err := filepath.Glob(pattern)
	switch {
	case err != nil:
		e.bad(pattern, fmt.Errorf("no such file, and not a valid glob pattern: %w", err))
	case len(matches) == 0:
		e.bad(pattern, ErrNoMatch)
	}
	sort.Strings(matches)
	for _, m := range matches {
		e.path(m, fromGlob)
	}
}

// walk adds the images below dir, whose path below the walked argument is
// rel. Its real subfolders are walked at once, its symlinked ones queued
// (e.links).
func (e *expander) walk(dir string, rel []string) {
	if e.ctx.Err() != nil {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		e.bad(dir, statError("cannot list the folder", err))
		// ReadDir returns what it read before the error: go on with it.
	}
	for _, d := range entries {
		p := filepath.Join(dir, d.Name())
		r := append(rel[:len(rel):len(rel)], d.Name())
		isImage := imageExts[strings.ToLower(filepath.Ext(d.Name()))]
		t := d.Type()
		if t&fs.ModeSymlink != 0 {
			info, err := followLink(p)
			if err != nil {
				if isImage {
					e.bad(p, err) // named like an image: the user expects it
				}
				continue
			}
			if info.IsDir() {
				if e.enter(info) {
					e.links = append(e.links, folder{p, r, e.arg})
				}
				continue
			}
			t = info.Mode().Type()
		}
		switch {
		case t.IsDir():
			info, err := d.Info()
			if err != nil {
				e.bad(p, statError("", err))
				continue
			}
			if e.enter(info) { // else a folder argument of its own, or a bind-mount loop
				e.walk(p, r)
			}
		case !isImage:
		case t.IsRegular():
			e.add(p, WalkKey(r))
		default: // a pipe named x.jpg must be reported, never opened
			e.bad(p, fmt.Errorf("%w: it is %s", imagefile.ErrNotRegular, imagefile.FileKind(t)))
		}
	}
}

// enter marks the folder info describes as walked, and reports whether it
// was not walked before.
func (e *expander) enter(info fs.FileInfo) bool {
	id, ok := idOf(info)
	if !ok {
		return true
	}
	if e.dirs[id] {
		return false
	}
	e.dirs[id] = true
	return true
}

// add records a file found through the current argument.
func (e *expander) add(path, key string) {
	e.found = append(e.found, found{Input{Path: path, Key: key}, e.arg})
}

// unique returns the found files sorted by path, each once: a file
// reached through several arguments (a folder and a file in it) keeps the
// key of the first argument, so adding arguments after it never changes
// its key.
func (e *expander) unique() []Input {
	best := map[string]found{} // by absolute path
	var order []string
	for _, f := range e.found {
		abs, err := filepath.Abs(f.Path)
		if err != nil {
			abs = f.Path
		}
		if b, ok := best[abs]; !ok {
			order = append(order, abs)
			best[abs] = f
		} else if f.arg < b.arg {
			best[abs] = f
		}
	}
	out := make([]Input, len(order))
	for i, abs := range order {
		out[i] = best[abs].Input
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// uniqueKeys returns the inputs (sorted by path) whose keys are usable
// and unique: a key equal to an earlier input's, or a folder inside or
// around an earlier input's folder, is passed to bad and skipped.
func uniqueKeys(inputs []Input, bad func(path string, err error)) []Input {
	owner := map[string]string{}  // key → path
	around := map[string]string{} // proper prefix of a kept key → that key's path
	out := make([]Input, 0, len(inputs))
	for _, in := range inputs {
		if err := CheckKey(in.Key); err != nil {
			bad(in.Path, err)
			continue
		}
		if other, dup := owner[in.Key]; dup {
			bad(in.Path, fmt.Errorf("%w: %s also has output folder %q; explain them into separate --out folders, or name their folders instead", ErrDuplicateKey, other, in.Key))
			continue
		}
		if other, dup := around[in.Key]; dup {
			bad(in.Path, fmt.Errorf("%w: the output folder %q would hold that of %s", ErrDuplicateKey, in.Key, other))
			continue
		}
		clash := ""
		for i := strings.IndexByte(in.Key, '/'); i >= 0; i = next(in.Key, i) {
			if other, dup := owner[in.Key[:i]]; dup {
				clash = fmt.Sprintf("%s's output folder %q would hold it", other, in.Key[:i])
				break
			}
		}
		if clash != "" {
			bad(in.Path, fmt.Errorf("%w: %s", ErrDuplicateKey, clash))
			continue
		}
		owner[in.Key] = in.Path
		for i := strings.IndexByte(in.Key, '/'); i >= 0; i = next(in.Key, i) {
			around[in.Key[:i]] = in.Path
		}
		out = append(out, in)
	}
	return out
}

// next is the index of the '/' after position i in key, or -1.
func next(key string, i int) int {
	j := strings.IndexByte(key[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// followLink stats the target of the symbolic link p, telling a dangling
// link and a loop from other errors.
func followLink(p string) (fs.FileInfo, error) {
	info, err := os.Stat(p)
	if err == nil {
		return info, nil
	}
	target, _ := os.Readlink(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w (to %s)", ErrDanglingLink, target)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("symbolic link loop: %w", syscall.ELOOP)
	}
	return nil, statError("symbolic link", err)
}

// statError describes an Lstat, Stat, Open or ReadDir error without
// repeating the path (bad names it), keeping the cause for errors.Is.
func statError(what string, err error) error {
	err = unwrapPath(err)
	switch {
	case errors.Is(err, fs.ErrPermission):
		err = fmt.Errorf("%w (check its and its folders' permissions)", err)
	case errors.Is(err, syscall.ENOTDIR):
		err = fmt.Errorf("%w: %w (a part of the path is a file)", fs.ErrNotExist, err)
	}
	if what == "" {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unwrapPath strips the *fs.PathError around err: the path is named once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileID identifies a folder across the paths that reach it.
type fileID struct{ dev, ino uint64 }

func idOf(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}
