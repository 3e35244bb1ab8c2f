package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/tfcam/tfcam/inputs"

	"golang.org/x/sys/unix"

	"github.com/tfcam/tfcam/internal/tfrecord"
)

// outDir is the --out folder of one shard of a run: per-image files
// written through a temporary folder and renamed into place, then the
// image's line in the shard's results file. That line is the only
// "done" marker: it is written last, after every file it names exists in
// full, so a crash or kill -9 at any moment loses at most the images in
// flight, and a resumed run redoes exactly the images without a line.
//
// Files are not fsync'ed one by one (kill -9 cannot lose data the kernel
// has); with durable, the filesystem is synced before each batch's lines
// are written, so that a power cut cannot leave a line naming a file the
// disk never got.
type outDir struct {
	root    string
	tmp     string // root/.tfcam-tmp-<shard>: temporary files, same filesystem
	durable bool
	lock    *os.File

	mu      sync.Mutex
	results *os.File // results.jsonl or results-i-of-n.jsonl
	records *os.File // maps….tfrecord, when wanted
	recEnd  int64
	done    map[string]bool
	pending []pendingLine // waiting for the next sync (durable)
}

type pendingLine struct {
	line    []byte
	records [][]byte
}

// resultsName and recordsName are a shard's files.
func resultsName(s inputs.Shard) string {
	if s.Count > 1 {
		return fmt.Sprintf("results-%05d-of-%05d.jsonl", s.Index, s.Count)
	}
	return "results.jsonl"
}

func recordsName(s inputs.Shard) string {
	if s.Count > 1 {
		return fmt.Sprintf("maps-%05d-of-%05d.tfrecord", s.Index, s.Count)
	}
	return "maps.tfrecord"
}

// errLocked means another run holds the shard's lock.
var errLocked = errors.New("another tfcam run is writing this --out (and shard)")

// openOutDir creates root, takes the shard's lock (a second run on the
// same --out and shard fails at once instead of doing the work twice),
// removes temporary files of killed runs, and reads the shard's results:
// lines cut short by a crash are dropped, duplicates keep their last
// occurrence, and with redo the lines of those keys are removed (they
// are about to be redone). withRecords also opens the TFRecord file,
// truncated to the last image marked done.
func openOutDir(root string, s inputs.Shard, durable, withRecords bool, redo func(key string) bool) (*outDir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating --out %s: %w", root, err)
	}
	tag := fmt.Sprintf("%d-of-%d", s.Index, max(s.Count, 1))
	lock, err := os.OpenFile(filepath.Join(root, ".tfcam-lock-"+tag), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", root, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %s (wait for it, or use another --out)", errLocked, root)
	}
	d := &outDir{root: root, tmp: filepath.Join(root, ".tfcam-tmp-"+tag), durable: durable, lock: lock, done: map[string]bool{}}
	if err := os.RemoveAll(d.tmp); err != nil {
		d.Close()
		return nil, err
	}
	if err := os.MkdirAll(d.tmp, 0o755); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.load(filepath.Join(root, resultsName(s)), filepath.Join(root, recordsName(s)), withRecords, redo); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// load reads the results file into done and rewrites it (atomically) when
// it has partial lines, duplicates or lines to redo.
func (d *outDir) load(resPath, recPath string, withRecords bool, redo func(string) bool) error {
	raw, err := os.ReadFile(resPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	type line struct {
		key  string
		text []byte
		end  int64
	}
	var lines []line
	last := map[string]int{}
	dirty := false
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 { // cut short by a crash: not done
			dirty = true
			break
		}
		text := raw[:i]
		raw = raw[i+1:]
		var r struct {
			Key        string `json:"key"`
			RecordsEnd int64  `json:"tfrecord_end"`
		}
		if json.Unmarshal(text, &r) != nil || r.Key == "" {
			dirty = true
			continue
		}
		if j, ok := last[r.Key]; ok {
			lines[j].key = "" // an older duplicate
			dirty = true
		}
		last[r.Key] = len(lines)
		lines = append(lines, line{r.Key, text, r.RecordsEnd})
	}
	var keep bytes.Buffer
	for _, l := range lines {
		if l.key == "" {
			continue
		}
		if redo != nil && redo(l.key) {
			dirty = true
			continue
		}
		d.done[l.key] = true
		keep.Write(l.text)
		keep.WriteByte('\n')
	}
	if dirty {
		if err := writeAtomic(resPath, keep.Bytes()); err != nil {
			return err
		}
	}
	if d.results, err = os.OpenFile(resPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}
	if withRecords {
		return d.loadRecords(recPath)
	}
	return nil
}

// loadRecords keeps the TFRecord file's records of images still marked
// done and drops the rest (images redone, or written before a crash but
// never marked done), then opens it for appending.
func (d *outDir) loadRecords(path string) error {
	f, err := os.Open(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var keep bytes.Buffer
	dirty := false
	if f != nil {
		rd := tfrecord.NewReader(f)
		for {
			rec, err := rd.Next(1 << 30)
			if err == io.EOF {
				break
			}
			if err != nil {
				dirty = true // a record cut short by a crash
				break
			}
			if key, ok := exampleKey(rec); ok && d.done[key] {
				tfrecord.Append(&keep, rec)
			} else {
				dirty = true
			}
		}
		f.Close()
	}
	if dirty {
		if err := writeAtomic(path, keep.Bytes()); err != nil {
			return err
		}
	}
	if d.records, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}
	fi, err := d.records.Stat()
	if err != nil {
		return err
	}
	d.recEnd = fi.Size()
	return nil
}

// isDone reports whether key has a line in the results.
func (d *outDir) isDone(key string) bool { return d.done[key] }

// writeFile writes one output file (rel is slash-separated, under root)
// through the temporary folder and a rename, so that it appears complete
// or not at all.
func (d *outDir) writeFile(rel string, data []byte) error {
	// Keys are made safe by Expand (keys.go); this guards the
	// invariant: nothing is written outside --out.
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("output %q would leave --out", rel)
	}
	path := filepath.Join(d.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := replaceFile(d.tmp, path, data, d.durable); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return nil
}

// commit marks an image done: its TFRecord records (if any) and then its
// results line. The files it names must already be written. With durable,
// the line waits for sync.
func (d *outDir) commit(line []byte, records [][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.durable {
		d.pending = append(d.pending, pendingLine{line, records})
		return nil
	}
	return d.appendLocked(line, records)
}

func (d *outDir) appendLocked(line []byte, records [][]byte) error {
	if d.records != nil {
		var buf bytes.Buffer
		for _, r := range records {
			tfrecord.Append(&buf, r)
		}
		if _, err := d.records.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("appending to %s: %w", d.records.Name(), err)
		}
		d.recEnd += int64(buf.Len())
		// The line records where its records end; a reader of a file
		// that a crash cut short can trust everything before it.
		line = append(bytes.TrimSuffix(line, []byte("}")), []byte(`,"tfrecord_end":`+strconv.FormatInt(d.recEnd, 10)+"}")...)
	}
	if _, err := d.results.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("appending to %s: %w", d.results.Name(), err)
	}
	return nil
}

// sync (durable only) flushes written files to disk, then writes the
// lines of the images whose files were flushed, and flushes them too.
func (d *outDir) sync() error {
	if !d.durable {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) == 0 {
		return nil
	}
	if err := syncfs(d.results); err != nil {
		return err
	}
	for _, p := range d.pending {
		if err := d.appendLocked(p.line, p.records); err != nil {
			return err
		}
	}
	d.pending = nil
	if d.records != nil {
		if err := d.records.Sync(); err != nil {
			return err
		}
	}
	return d.results.Sync()
}

// Close flushes and releases the lock.
func (d *outDir) Close() error {
	err := d.sync()
	for _, f := range []*os.File{d.results, d.records} {
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	os.RemoveAll(d.tmp)
	d.lock.Close()
	return err
}

// umask is the process's file mode mask, read once at start.
var umask = func() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}()

// syncfs flushes the filesystem holding f: every file written so far.
func syncfs(f *os.File) error {
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}

// writeAtomic replaces path with data, synced, through a temporary file
// beside it.
func writeAtomic(path string, data []byte) error {
	return replaceFile(filepath.Dir(path), path, data, true)
}

// replaceFile writes data to a temporary file in tmpDir (same filesystem
// as path), optionally syncs it, and renames it to path: readers see the
// old file or the whole new one. CreateTemp makes 0600 files; outputs are
// meant to be shared (served galleries, other users' pipelines), so they
// get the usual 0644, less the umask.
func replaceFile(tmpDir, path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(tmpDir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	err = f.Chmod(0o644 &^ umask)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
