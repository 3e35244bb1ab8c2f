package results

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/tfcam/tfcam/inputs"
	"github.com/tfcam/tfcam/internal/tfrecord"
	"github.com/tfcam/tfcam/storage"
)

// Sink is where a run stores each image's files and, last, the line that
// marks it done: a local folder (Dir) or an object store (Bucket).
type Sink interface {
	// IsDone reports whether key was marked done by an earlier run.
	IsDone(key string) bool
	// WriteFile stores one file (rel is slash-separated, under the root),
	// complete or not at all.
	WriteFile(ctx context.Context, rel string, data []byte) error
	// Commit marks an image done once its files are stored; line is its
	// Record as JSON, records its TFRecord records (with --save tfrecord).
	Commit(ctx context.Context, line []byte, records [][]byte) error
	// Sync makes the lines committed so far as durable as the files.
	Sync(ctx context.Context) error
	// Close syncs and releases the output.
	Close() error
}

// Bucket is --out in an object store. Objects cannot be appended to,
// so a shard's results are parts: results/<shard>/<time>-<random>.jsonl,
// each holding the lines of the images committed since the previous part,
// written after all of their files; with --save tfrecord each part's
// records go to maps/<shard>/<same name>.tfrecord, written just before it.
// A part is written when lines have waited flushEvery (checked at each
// batch; when flushLines lines wait; and at the end), so a killed run loses at most that much work, and
// a resumed run reads every part and redoes the images without a line.
// TFRecord parts whose .jsonl never appeared are deleted at start. With
// --force, the redone images get new lines in later parts: the last line
// of a key, in part-name order, is the current one.
type Bucket struct {
	loc          *storage.Location
	results      string // "results/<shard>/"
	records      string // "maps/<shard>/", "" without TFRecord output
	done         map[string]bool
	flushEvery   time.Duration
	flushLines   int
	mu           sync.Mutex
	lines        [][]byte
	recs         bytes.Buffer
	first        time.Time // when the oldest waiting line was committed
	lastPartName string
}

// OpenBucket opens --out URL raw for shard s and reads its parts.
func OpenBucket(ctx context.Context, raw string, s inputs.Shard, withRecords bool, flushEvery time.Duration, redo func(key string) bool) (*Bucket, error) {
	loc, err := storage.Open(ctx, raw)
	if err != nil {
		return nil, err
	}
	stem := strings.TrimSuffix(ResultsName(s), ".jsonl")
	d := &Bucket{loc: loc, results: stem + "/", done: map[string]bool{},
		flushEvery: flushEvery, flushLines: 1000}
	if withRecords {
		d.records = strings.TrimSuffix(RecordsName(s), ".tfrecord") + "/"
	}
	parts := map[string]bool{}
	for o, err := range loc.List(ctx, d.results) {
		if err != nil {
			loc.Close()
			return nil, err
		}
		name, ok := partName(o.Key, d.results, ".jsonl")
		if !ok {
			continue // an image's output folder that happens to lie here
		}
		parts[name] = true
		data, err := loc.Read(ctx, o.Key, 0)
		if err != nil {
			loc.Close()
			return nil, err
		}
		for line := range lines(data) {
			var rec struct{ Key string }
			if json.Unmarshal(line, &rec) == nil && rec.Key != "" {
				d.done[rec.Key] = redo == nil || !redo(rec.Key)
			}
		}
	}
	if withRecords {
		var orphans []string
		for o, err := range loc.List(ctx, d.records) {
			if err != nil {
				loc.Close()
				return nil, err
			}
			// Only tfcam's own parts: an input key may put an image's
			// output folder under maps/ ("maps/a.png/gradcam.jpg").
			if name, ok := partName(o.Key, d.records, ".tfrecord"); ok && !parts[name] {
				orphans = append(orphans, o.Key)
			}
		}
		for _, k := range orphans {
			if err := loc.Delete(ctx, k); err != nil {
				loc.Close()
				return nil, err
			}
		}
	}
	return d, nil
}

// partName is the part name of key when it is one of tfcam's parts: a
// file directly in folder with the suffix. Images' outputs are always in
// folders of their own (key/file), and never end in .jsonl or .tfrecord
// there, so none is taken for a part.
func partName(key, folder, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(key, folder)
	if !ok || strings.Contains(rest, "/") || !strings.HasSuffix(rest, suffix) || rest == suffix {
		return "", false
	}
	return strings.TrimSuffix(rest, suffix), true
}

// IsDone reports whether key has a line in the shard's parts.
func (d *Bucket) IsDone(key string) bool { return d.done[key] }

// WriteFile uploads one object; an upload is complete or absent.
func (d *Bucket) WriteFile(ctx context.Context, rel string, data []byte) error {
	return d.loc.Write(ctx, rel, data, contentType(rel))
}

// contentType names what a file is, for browsers reading the bucket.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".jpg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".jsonl":
		return "application/jsonl"
	}
	return "application/octet-stream"
}

// Commit queues an image's line (and records) for the next part; a part
// is written when flushLines lines wait.
func (d *Bucket) Commit(ctx context.Context, line []byte, records [][]byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.lines) == 0 {
		d.first = time.Now()
	}
	d.lines = append(d.lines, line)
	for _, r := range records {
		tfrecord.Append(&d.recs, r)
	}
	if len(d.lines) >= d.flushLines {
		return d.flushLocked(ctx)
	}
	return nil
}

// Sync writes a part when lines have waited flushEvery.
func (d *Bucket) Sync(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.lines) > 0 && time.Since(d.first) >= d.flushEvery {
		return d.flushLocked(ctx)
	}
	return nil
}

// flushLocked writes the waiting lines (and records) as a part.
func (d *Bucket) flushLocked(ctx context.Context) error {
	if len(d.lines) == 0 {
		return nil
	}
	// Names sort by time; the random tail keeps two runs of one shard
	// (which should not happen) from overwriting each other's parts.
	name := fmt.Sprintf("%020d-%08x", time.Now().UnixNano(), rand.Uint32())
	if name <= d.lastPartName {
		name = d.lastPartName + "0"
	}
	d.lastPartName = name
	if d.records != "" {
		if err := d.loc.Write(ctx, d.records+name+".tfrecord", d.recs.Bytes(), "application/octet-stream"); err != nil {
			return err
		}
	}
	body := bytes.Join(d.lines, []byte("\n"))
	body = append(body, '\n')
	if err := d.loc.Write(ctx, d.results+name+".jsonl", body, "application/jsonl"); err != nil {
		return err
	}
	d.lines = d.lines[:0]
	d.recs.Reset()
	return nil
}

// Close writes the last part and releases the bucket. The last part is
// written whatever happened to the run's context: it holds work done.
func (d *Bucket) Close() error {
	d.mu.Lock()
	err := d.flushLocked(context.Background())
	d.mu.Unlock()
	if cerr := d.loc.Close(); err == nil {
		err = cerr
	}
	return err
}
