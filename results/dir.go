package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/atomicfile"
	"github.com/tfcam/tfcam/internal/tfrecord"
)

// Dir is the --out folder of one shard of a run: per-image files
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
type Dir struct {
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

// ResultsName is a shard's results file.
func ResultsName(s inputs.Shard) string {
	if s.Count > 1 {
		return fmt.Sprintf("results-%05d-of-%05d.jsonl", s.Index, s.Count)
	}
	return "results.jsonl"
}

// RecordsName is a shard's TFRecord file.
func RecordsName(s inputs.Shard) string {
	if s.Count > 1 {
		return fmt.Sprintf("maps-%05d-of-%05d.tfrecord", s.Index, s.Count)
	}
	return "maps.tfrecord"
}

// ErrLocked means another run holds the shard's lock.
var ErrLocked = errors.New("another tfcam run is writing this --out (and shard)")

// OpenDir creates root, takes the shard's lock (a second run on the
// same --out and shard fails at once instead of doing the work twice),
// removes temporary files of killed runs, and reads the shard's results:
// lines cut short by a crash are dropped, duplicates keep their last
// occurrence, and with redo the lines of those keys are removed (they
// are about to be redone). withRecords also opens the TFRecord file,
// truncated to the last image marked done.
func OpenDir(root string, s inputs.Shard, durable, withRecords bool, redo func(key string) bool) (*Dir, error) {
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
		return nil, fmt.Errorf("%w: %s (wait for it, or use another --out)", ErrLocked, root)
	}
	d := &Dir{root: root, tmp: filepath.Join(root, ".tfcam-tmp-"+tag), durable: durable, lock: lock, done: map[string]bool{}}
	if err := os.RemoveAll(d.tmp); err != nil {
		d.Close()
		return nil, err
	}
	if err := os.MkdirAll(d.tmp, 0o755); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.load(filepath.Join(root, ResultsName(s)), filepath.Join(root, RecordsName(s)), withRecords, redo); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// load reads the results file into done and rewrites it (atomically) when
// it has partial lines, duplicates or lines to redo.
func (d *Dir) load(resPath, recPath string, withRecords bool, redo func(string) bool) error {
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
func (d *Dir) loadRecords(path string) error {
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
			if key, ok := ExampleKey(rec); ok && d.done[key] {
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

// IsDone reports whether key has a line in the results.
func (d *Dir) IsDone(key string) bool { return d.done[key] }

// WriteFile writes one output file (rel is slash-separated, under root)
// through the temporary folder and a rename, so that it appears complete
// or not at all.
func (d *Dir) WriteFile(_ context.Context, rel string, data []byte) error {
	// Keys are made safe by Expand (keys.go); this guards the
	// invariant: nothing is written outside --out.
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("output %q would leave --out", rel)
	}
	path := filepath.Join(d.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, data, atomicfile.Options{TmpDir: d.tmp, NoSync: !d.durable}); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return nil
}

// Commit marks an image done: its TFRecord records (if any) and then its
// results line. The files it names must already be written. With durable,
// the line waits for sync.
func (d *Dir) Commit(_ context.Context, line []byte, records [][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.durable {
		d.pending = append(d.pending, pendingLine{line, records})
		return nil
	}
	return d.appendLocked(line, records)
}

func (d *Dir) appendLocked(line []byte, records [][]byte) error {
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

// Sync (durable only) flushes written files to disk, then writes the
// lines of the images whose files were flushed, and flushes them too.
func (d *Dir) Sync(context.Context) error {
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
// Close writes the lines still waiting (durable), closes the files and
// releases the shard's lock.
func (d *Dir) Close() error {
	err := d.Sync(context.Background())
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
	return atomicfile.WriteBytes(path, data, atomicfile.Options{})
}
