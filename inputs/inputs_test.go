package inputs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tfcam/tfcam/imagefile"
	"github.com/tfcam/tfcam/internal/fakes3"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/storage"
)

// tree builds files, folders and links under root: a name ending in '/'
// is a folder, "name -> target" a symbolic link, "name |" a FIFO.
func tree(t testing.TB, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		var err error
		switch {
		case strings.Contains(e, " -> "):
			name, target, _ := strings.Cut(e, " -> ")
			p := filepath.Join(root, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			err = os.Symlink(target, p)
		case strings.HasSuffix(e, " |"):
			p := filepath.Join(root, strings.TrimSuffix(e, " |"))
			os.MkdirAll(filepath.Dir(p), 0o755)
			err = syscall.Mkfifo(p, 0o644)
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(filepath.Join(root, e), 0o755)
		default:
			p := filepath.Join(root, e)
			os.MkdirAll(filepath.Dir(p), 0o755)
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// reported is one call of Expand' bad.
type reported struct {
	path string
	err  error
}

// expand runs Expand in root as the working directory, failing the
// test if it does not return (the bugs it guards against hang or recurse).
func expand(t *testing.T, args []string, stdin string) (keys map[string]string, bad []reported, err error) {
	t.Helper()
	done := make(chan struct{})
	var got []Input
	go func() {
		defer close(done)
		got, err = Expand(context.Background(), args, strings.NewReader(stdin), func(p string, e error) {
			bad = append(bad, reported{p, e})
		})
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a hang guard: it takes milliseconds
		t.Fatal("Expand did not return within 2 minutes")
	}
	keys = map[string]string{}
	for _, in := range got {
		keys[in.Path] = in.Key
		if err := CheckKey(in.Key); err != nil {
			t.Errorf("%s: unsafe key: %v", in.Path, err)
		}
	}
	return keys, bad, err
}

func TestExpandInputs(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	tree(t, root,
		"photos/x.jpg", "photos/x.png", "photos/sub/y.JPG", "photos/notes.txt",
		"photos/...png", "photos/..png", "photos/.png", "photos/.hidden.png",
		"photos/index.html.png", "photos/results.jsonl.png", "photos/100%.png",
		`photos/back\slash.png`, "photos/new\nline.png", "photos/tab\there.png",
		"photos/dangling.jpg -> /nonexistent/x.jpg",
		"photos/loop.jpg -> loop.jpg",
		"photos/fifo.jpg |",
		"photos/sub/up -> ..", // a folder loop: walked once
		"photos/self -> .",
		"photos/linked -> ../other", // a symlinked folder: followed
		"photos/file-link.png -> ../other/z.png",
		"photos/noext-dangling -> /nonexistent", // not named like an image: ignored
		"other/z.png",
		"link-to-photos -> photos",
		"c.webp", "lit[1].png", "lit1.png",
		"index.html", "results-00001-of-00002.jsonl", "x.tfrecord",
		"dup/x.jpg",
		"a/a.jpg", "b/a.jpg/y.png", "c/n.jpg/y.png", "d/n.jpg",
		"list.txt", "nested.txt",
	)
	abs := func(p string) string { return filepath.Join(root, p) }
	os.WriteFile("list.txt", []byte("# images\nc.webp\n\n  photos/x.jpg  \r\nphotos/fifo.jpg\n/dev/zero\nphotos\nnope.png\nphotos/dangling.jpg\nphotos/*.png\n@nested.txt\n"), 0o644)
	os.WriteFile("nested.txt", []byte("c.webp\n"), 0o644)

	walked := map[string]string{ // path → key, walking "photos"
		"photos/x.jpg": "x.jpg", "photos/x.png": "x.png", "photos/sub/y.JPG": "sub/y.JPG",
		"photos/...png": "%2E..png", "photos/..png": "%2E.png", "photos/.png": "%2Epng", "photos/.hidden.png": "%2Ehidden.png",
		"photos/index.html.png": "index.html.png", "photos/results.jsonl.png": "results.jsonl.png",
		"photos/100%.png": "100%25.png", `photos/back\slash.png`: "back%5Cslash.png",
		"photos/new\nline.png": "new%0Aline.png", "photos/tab\there.png": "tab%09here.png",
		"photos/linked/z.png": "linked/z.png", "photos/file-link.png": "file-link.png",
	}
	type want struct {
		path string
		err  error // for errors.Is
	}
	walkBad := []want{
		{"photos/dangling.jpg", fs.ErrNotExist},
		{"photos/fifo.jpg", imagefile.ErrNotRegular},
		{"photos/loop.jpg", syscall.ELOOP},
	}
	prefixed := func(prefix string, m map[string]string) map[string]string {
		out := map[string]string{}
		for p, k := range m {
			out[prefix+strings.TrimPrefix(p, "photos/")] = k
		}
		return out
	}
	cases := []struct {
		name  string
		args  []string
		stdin string
		keys  map[string]string // path → key; nil: none
		bad   []want            // in order
	}{
		{"walk: images only, hostile names escaped, links followed once", []string{"photos"}, "", walked, walkBad},
		{"symlinked folder without trailing slash is walked", []string{"link-to-photos"}, "", prefixed("link-to-photos/", walked),
			[]want{{"link-to-photos/dangling.jpg", fs.ErrNotExist}, {"link-to-photos/fifo.jpg", imagefile.ErrNotRegular}, {"link-to-photos/loop.jpg", syscall.ELOOP}}},
		{"symlinked folder with trailing slash", []string{"link-to-photos/"}, "", prefixed("link-to-photos/", walked),
			[]want{{"link-to-photos/dangling.jpg", fs.ErrNotExist}, {"link-to-photos/fifo.jpg", imagefile.ErrNotRegular}, {"link-to-photos/loop.jpg", syscall.ELOOP}}},
		{"relative file keeps its path", []string{"photos/x.jpg", "./c.webp"}, "", map[string]string{"photos/x.jpg": "photos/x.jpg", "./c.webp": "c.webp"}, nil},
		{"absolute file: base name", []string{abs("photos/x.jpg")}, "", map[string]string{abs("photos/x.jpg"): "x.jpg"}, nil},
		{"outside the working directory: base name", []string{"../" + filepath.Base(root) + "/c.webp"}, "", map[string]string{"../" + filepath.Base(root) + "/c.webp": "c.webp"}, nil},
		{"explicit file of any extension", []string{"photos/notes.txt"}, "", map[string]string{"photos/notes.txt": "photos/notes.txt"}, nil},
		{"explicit hostile names", []string{"photos/...png", "photos/.png"}, "", map[string]string{"photos/...png": "photos/%2E..png", "photos/.png": "photos/%2Epng"}, nil},
		{"tfcam's root file names escaped", []string{"index.html", "results-00001-of-00002.jsonl", "x.tfrecord"}, "",
			map[string]string{"index.html": "index%2Ehtml", "results-00001-of-00002.jsonl": "results-00001-of-00002%2Ejsonl", "x.tfrecord": "x%2Etfrecord"}, nil},
		{"explicit dangling symlink", []string{"photos/dangling.jpg"}, "", nil, []want{{"photos/dangling.jpg", fs.ErrNotExist}}},
		{"explicit symlink loop", []string{"photos/loop.jpg"}, "", nil, []want{{"photos/loop.jpg", syscall.ELOOP}}},
		{"explicit fifo", []string{"photos/fifo.jpg"}, "", nil, []want{{"photos/fifo.jpg", imagefile.ErrNotRegular}}},
		{"explicit device", []string{"/dev/null"}, "", nil, []want{{"/dev/null", imagefile.ErrNotRegular}}},
		{"explicit file link", []string{"photos/file-link.png"}, "", map[string]string{"photos/file-link.png": "photos/file-link.png"}, nil},
		{"missing file", []string{"nope.png"}, "", nil, []want{{"nope.png", fs.ErrNotExist}}},
		{"glob: matches as arguments, links reported", []string{"photos/*.jpg"}, "", map[string]string{"photos/x.jpg": "photos/x.jpg"},
			[]want{{"photos/dangling.jpg", fs.ErrNotExist}, {"photos/fifo.jpg", imagefile.ErrNotRegular}, {"photos/loop.jpg", syscall.ELOOP}}},
		{"existing path is not a glob", []string{"lit[1].png"}, "", map[string]string{"lit[1].png": "lit[1].png"}, nil},
		{"missing path with brackets is a glob", []string{"li[t]1.png"}, "", map[string]string{"lit1.png": "lit1.png"}, nil},
		{"glob without match", []string{"photos/*.gif"}, "", nil, []want{{"photos/*.gif", ErrNoMatch}}},
		{"bad glob", []string{"photos/[.png"}, "", nil, []want{{"photos/[.png", filepath.ErrBadPattern}}},
		{"list: literal file paths, each bad line reported", []string{"@list.txt"}, "",
			map[string]string{"c.webp": "c.webp", "photos/x.jpg": "photos/x.jpg"},
			[]want{
				{"photos/fifo.jpg", imagefile.ErrNotRegular}, {"/dev/zero", imagefile.ErrNotRegular},
				{"photos", imagefile.ErrNotRegular}, {"nope.png", fs.ErrNotExist},
				{"photos/dangling.jpg", fs.ErrNotExist}, {"photos/*.png", fs.ErrNotExist}, {"@nested.txt", fs.ErrNotExist},
			}},
		{"missing list", []string{"@nolist.txt", "c.webp"}, "", map[string]string{"c.webp": "c.webp"}, []want{{"nolist.txt", fs.ErrNotExist}}},
		{"device as list", []string{"@/dev/urandom"}, "", nil, []want{{"/dev/urandom", imagefile.ErrNotRegular}}},
		{"folder as list", []string{"@photos"}, "", nil, []want{{"photos", imagefile.ErrNotRegular}}},
		{"stdin", []string{"-"}, "c.webp\n", map[string]string{"c.webp": "c.webp"}, nil},
		{"duplicates collapse", []string{"c.webp", "c.webp", "./c.webp", abs("c.webp")}, "", map[string]string{"c.webp": "c.webp"}, nil},
		{"same key from two arguments: the later path is reported", []string{"dup", "photos/sub", "photos"}, "",
			map[string]string{"dup/x.jpg": "x.jpg", "photos/sub/y.JPG": "y.JPG", "photos/x.png": "x.png", "photos/...png": "%2E..png"},
			append(walkBad, want{"photos/x.jpg", ErrDuplicateKey})},
		{"a folder inside another's output folder", []string{"a", "b"}, "", map[string]string{"a/a.jpg": "a.jpg"},
			[]want{{"b/a.jpg/y.png", ErrDuplicateKey}}},
		{"a folder around another's output folder", []string{"c", "d"}, "", map[string]string{"c/n.jpg/y.png": "n.jpg/y.png"},
			[]want{{"d/n.jpg", ErrDuplicateKey}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, bad, err := expand(t, c.args, c.stdin)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if c.name == "same key from two arguments: the later path is reported" {
				// Only the keys that matter: photos has many more.
				for p, k := range c.keys {
					if keys[p] != k {
						t.Errorf("%s: key %q, want %q", p, keys[p], k)
					}
				}
				if _, ok := keys["photos/x.jpg"]; ok {
					t.Errorf("duplicate photos/x.jpg kept")
				}
			} else if len(keys) != len(c.keys) || (len(keys) > 0 && !reflect.DeepEqual(keys, c.keys)) {
				t.Errorf("keys\n%q\nwant\n%q", keys, c.keys)
			}
			if len(bad) != len(c.bad) {
				t.Fatalf("reported %v, want %v", bad, c.bad)
			}
			for i, w := range c.bad {
				if bad[i].path != w.path || !errors.Is(bad[i].err, w.err) {
					t.Errorf("reported %s: %v; want %s: %v", bad[i].path, bad[i].err, w.path, w.err)
				}
				if errors.Is(w.err, ErrDuplicateKey) && !strings.Contains(bad[i].err.Error(), "dup/x.jpg") && !strings.Contains(bad[i].err.Error(), "a/a.jpg") && !strings.Contains(bad[i].err.Error(), "c/n.jpg/y.png") {
					t.Errorf("duplicate report does not name the other input: %v", bad[i].err)
				}
			}
		})
	}
}

// TestExpandInputsStdinError checks an unreadable stdin fails the command.
func TestExpandInputsStdinError(t *testing.T) {
	cause := errors.New("stdin broke")
	_, err := Expand(context.Background(), []string{"-"}, iotest.ErrReader(cause), func(string, error) {})
	if !errors.Is(err, cause) {
		t.Fatalf("error %v, want it to wrap %v", err, cause)
	}
}

// TestExpandFiles checks eval's and predict's expansion takes two images
// of one key, and still reports bad paths.
func TestExpandFiles(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, "a/x.png", "b/x.png", "b/fifo.png |")
	var bad []string
	got, err := ExpandFiles(context.Background(), []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}, nil, func(p string, _ error) { bad = append(bad, p) })
	if err != nil || len(got) != 2 || got[0].Key != "x.png" || got[1].Key != "x.png" {
		t.Errorf("got %v, %v; want a/x.png and b/x.png, both keyed x.png", got, err)
	}
	if len(bad) != 1 || bad[0] != filepath.Join(dir, "b/fifo.png") {
		t.Errorf("reported %q, want b/fifo.png", bad)
	}
}

// TestExpandInputsStableKeys checks a key depends on the input and its
// argument only: adding inputs never changes the keys of the others.
func TestExpandInputsStableKeys(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	tree(t, root, "a/x.png", "a/y.png", "b/x.png", "b/z.png", "c.png")
	before, _, _ := expand(t, []string{"a"}, "")
	after, bad, _ := expand(t, []string{"a", "b", "c.png", "a/x.png"}, "")
	for p, k := range before {
		if after[p] != k {
			t.Errorf("%s: key %q became %q once more inputs were added", p, k, after[p])
		}
	}
	if len(bad) != 1 || bad[0].path != "b/x.png" {
		t.Errorf("reported %v, want only b/x.png as a duplicate", bad)
	}
}

// TestExpandInputsPermissions checks unreadable folders and list entries
// are reported with a permission error (not "no such file") and skipped,
// and the rest goes on. Root reads everything, so as root the case runs in
// a child process as nobody.
func TestExpandInputsPermissions(t *testing.T) {
	if fixture.AsNobody(t) {
		return
	}
	root := t.TempDir()
	t.Chdir(root)
	tree(t, root, "photos/ok.png", "photos/closed/x.png", "photos/zz.png", "shut/y.png", "list.txt")
	os.WriteFile("list.txt", []byte("photos/closed/x.png\nphotos/zz.png\nmissing.png\n"), 0o644)
	for _, d := range []string{"photos/closed", "shut"} {
		if err := os.Chmod(d, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(filepath.Join(root, d), 0o755) })
	}
	if err := os.WriteFile("secret-list.txt", []byte("ok.png\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	// shut/y[1].png is no glob: the error is the folder's, not "no match".
	keys, bad, err := expand(t, []string{"photos", "shut", "@list.txt", "@secret-list.txt", "shut/y.png", "shut/y[1].png"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"photos/ok.png": "ok.png", "photos/zz.png": "zz.png"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	wantBad := []struct {
		path string
		err  error
	}{
		// Arguments first, in order; folders are walked after them.
		{"photos/closed/x.png", fs.ErrPermission},
		{"missing.png", fs.ErrNotExist},
		{"secret-list.txt", fs.ErrPermission},
		{"shut/y.png", fs.ErrPermission},
		{"shut/y[1].png", fs.ErrPermission},
		{"photos/closed", fs.ErrPermission},
		{"shut", fs.ErrPermission},
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("reported %v, want %v", bad, wantBad)
	}
	for i, w := range wantBad {
		if bad[i].path != w.path || !errors.Is(bad[i].err, w.err) {
			t.Errorf("reported %s: %v; want %s: %v", bad[i].path, bad[i].err, w.path, w.err)
		}
		if w.err == fs.ErrPermission && errors.Is(bad[i].err, fs.ErrNotExist) {
			t.Errorf("%s: permission error also reads as not-exist: %v", w.path, bad[i].err)
		}
	}
}

// FuzzExpandInputs runs Expand on a folder holding a file of any
// name (and a FIFO, a dangling and a looping link) and on a list of any
// content: it must return (no hang, no panic), report rather than take
// what is not a regular file, and give every input a safe, unique key.
func FuzzExpandInputs(f *testing.F) {
	f.Add("x.jpg", "$D/x.jpg\n$D/fifo.jpg\n/dev/zero\n$D\n$D/dangling.jpg\n")
	f.Add("...png", "$D/...png\n$D/*.png\n@$D/list\n-\n")
	f.Add("index.html", "# comment\n\n  $D/index.html  \r\n$D/loop.png\n")
	f.Add("a\nb.png", "$D/a\nb.png\n$D/sub/../x.png\n")
	f.Add("100%.png", "$D/100%.png\n$D/100%25.png\n../../../etc/passwd\n")
	f.Fuzz(func(t *testing.T, name, list string) {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 200 || strings.Contains(list, "\x00") {
			return
		}
		dir := t.TempDir()
		walked := filepath.Join(dir, "walked")
		tree(t, walked, "fifo.jpg |", "dangling.jpg -> /nonexistent/x.jpg", "loop.png -> loop.png", "up -> ..")
		for _, n := range []string{name, name + ".png"} {
			if err := os.WriteFile(filepath.Join(walked, n), []byte("x"), 0o644); err != nil {
				return // a name the file system refuses
			}
		}
		listFile := filepath.Join(dir, "list")
		if err := os.WriteFile(listFile, []byte(strings.ReplaceAll(list, "$D", walked)), 0o644); err != nil {
			t.Fatal(err)
		}
		var got []Input
		var err error
		bad := map[string]bool{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err = Expand(context.Background(), []string{walked, "@" + listFile}, strings.NewReader(""), func(p string, _ error) { bad[p] = true })
		}()
		<-done
		if err != nil {
			t.Fatalf("error %v", err)
		}
		keys := map[string]bool{}
		for _, in := range got {
			if info, err := os.Stat(in.Path); err != nil || !info.Mode().IsRegular() {
				t.Fatalf("%q taken but not a regular file (%v)", in.Path, err)
			}
			if err := CheckKey(in.Key); err != nil || !insideOut(dir, in.Key) {
				t.Fatalf("%q: unsafe key %q (%v)", in.Path, in.Key, err)
			}
			if keys[in.Key] {
				t.Fatalf("key %q given twice", in.Key)
			}
			keys[in.Key] = true
		}
		if !keys[WalkKey([]string{name + ".png"})] && !bad[filepath.Join(walked, name+".png")] {
			t.Fatalf("%q neither taken nor reported", name+".png")
		}
		for _, p := range []string{"fifo.jpg", "dangling.jpg", "loop.png"} {
			if !bad[filepath.Join(walked, p)] {
				t.Fatalf("%s not reported", p)
			}
		}
	})
}

// TestStreamPrefixControlKey: an image whose key has a control character
// is reported by name, and the prefix's other images still stream.
func TestStreamPrefixControlKey(t *testing.T) {
	s := fakes3.Start(t)
	s.CreateBucket(t, "bkt")
	for _, k := range []string{"a.png", "b\x01.png", "c.png", "notes.txt"} {
		s.Put(t, "bkt", "in/"+k, []byte("x"))
	}
	var keys, bad []string
	for in := range StreamPrefix(context.Background(), s.URL("bkt", "in/"), func(path string, err error) {
		if !errors.Is(err, storage.ErrControlKey) || !strings.Contains(path, "b%01.png") {
			t.Errorf("bad %q: %v, want ErrControlKey for b\\x01.png", path, err)
		}
		bad = append(bad, path)
	}) {
		keys = append(keys, in.Key)
	}
	if !slices.Equal(keys, []string{"a.png", "c.png"}) || len(bad) != 1 {
		t.Errorf("streamed %q, reported %q; want a.png, c.png and one report", keys, bad)
	}
}
