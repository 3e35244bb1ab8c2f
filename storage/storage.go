// Package storage reads and writes tfcam's inputs and outputs in object
// stores — s3://, gs://, azblob:// and file:// URLs — through
// gocloud.dev/blob, one library for the three clouds with each cloud's
// usual credential chain (AWS_* variables, profiles and instance roles;
// GOOGLE_APPLICATION_CREDENTIALS and the metadata server; AZURE_* and
// managed identities).
//
// A location is a bucket and a key prefix, written as a URL:
//
//	s3://bucket/photos/2026/?region=eu-west-1
//	s3://bucket/out/?endpoint=http://127.0.0.1:9000&use_path_style=true
//	gs://bucket/prefix/
//	azblob://container/prefix/
//	file:///data/photos/
//
// The query is the driver's (see gocloud.dev's URL documentation); the
// path is the prefix that keys are relative to. Reads and writes are
// retried with exponential backoff on errors that may pass (throttling,
// 5xx answers, dropped connections); an object appears under its key
// complete or not at all, since every object store commits a write when
// it closes and fileblob writes through a temporary file.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
	_ "gocloud.dev/blob/fileblob"  // file:// URLs
	_ "gocloud.dev/blob/gcsblob"   // gs:// URLs
	_ "gocloud.dev/blob/s3blob"    // s3:// URLs
	"gocloud.dev/gcerrors"
)

// Schemes are the URL schemes Open accepts.
var Schemes = []string{"s3", "gs", "azblob", "file"}

// ErrNotURL means a string is not a URL of one of Schemes.
var ErrNotURL = errors.New("storage: not an object-store URL")

// ErrNotFound is wrapped by errors for keys that do not exist.
var ErrNotFound = errors.New("storage: no such object")

// ErrTooLarge is wrapped by Read's error for an object over its limit.
var ErrTooLarge = errors.New("storage: object too large")

// IsURL reports whether s names an object-store location (scheme://...)
// rather than a local path.
func IsURL(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for _, sc := range Schemes {
		if s[:i] == sc {
			return true
		}
	}
	return false
}

// Location is a bucket and a key prefix in it.
type Location struct {
	bucket *blob.Bucket
	// Prefix is the key prefix ("" or ending in "/").
	Prefix string
	// Display is the URL without its query, for messages.
	Display string
	// Retry bounds the retries of one read or write (default DefaultRetry).
	Retry Retry
}

// Retry is a backoff policy: up to Attempts tries, waiting First, then
// twice as long each time up to Max, with ±25 % jitter.
type Retry struct {
	Attempts   int
	First, Max time.Duration
}

// DefaultRetry tries 6 times over about 6 seconds.
var DefaultRetry = Retry{Attempts: 6, First: 100 * time.Millisecond, Max: 3 * time.Second}

// Open opens the location a URL names. The bucket is opened lazily by the
// driver: a bucket that does not exist or credentials that do not work
// fail at the first read, write or list.
func Open(ctx context.Context, raw string) (*Location, error) {
	if !IsURL(raw) {
		return nil, fmt.Errorf("%w: %q (want %s://...)", ErrNotURL, raw, strings.Join(Schemes, "://, "))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("storage: %q: %w", raw, err)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	bucketURL := *u
	bucketURL.Path = ""
	if u.Scheme == "file" {
		// fileblob's bucket is a folder: the path is the bucket itself.
		bucketURL.Path, prefix = u.Path, ""
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	display := *u
	display.RawQuery = ""
	b, err := blob.OpenBucket(ctx, bucketURL.String())
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", display.String(), err)
	}
	return &Location{bucket: b, Prefix: prefix, Display: display.String(), Retry: DefaultRetry}, nil
}

// Close releases the bucket.
func (l *Location) Close() error { return l.bucket.Close() }

// URL returns the display URL of key (relative to the prefix).
func (l *Location) URL(key string) string {
	return strings.TrimSuffix(l.Display, "/") + "/" + key
}

// Object is one object found by List.
type Object struct {
	// Key is relative to the location's prefix.
	Key  string
	Size int64
	// Err, when set, says why the object is listed but cannot be read
	// (ErrControlKey); the listing goes on past it.
	Err error
}

// List yields the objects under the prefix (and under sub, a relative
// folder such as "results/"; "" for all), in key order, a page at a time:
// a bucket of millions of keys starts at once and is never held in
// memory. Each page request is retried; a failure ends the sequence with
// the error. An object that cannot be read comes with its Err set.
func (l *Location) List(ctx context.Context, sub string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		token := blob.FirstPageToken
		for {
			var page []*blob.ListObject
			var next []byte
			control := map[string]bool{}
			err := l.retry(ctx, func() (err error) {
				page, next, err = l.bucket.ListPage(ctx, token, 1000, listOptions(l.Prefix+sub, control))
				return err
			})
			if err != nil {
				yield(Object{}, fmt.Errorf("storage: listing %s: %w", l.URL(sub), err))
				return
			}
			for _, o := range page {
				if o.IsDir {
					continue
				}
				obj := Object{Key: strings.TrimPrefix(o.Key, l.Prefix), Size: o.Size}
				if control[o.Key] {
					obj.Err = fmt.Errorf("%w (%q)", ErrControlKey, obj.Key)
				}
				if !yield(obj, nil) {
					return
				}
			}
			if len(next) == 0 {
				return
			}
			token = next
		}
	}
}

// Read returns the object at key, failing with ErrTooLarge past max bytes
// (0: no limit).
func (l *Location) Read(ctx context.Context, key string, max int64) ([]byte, error) {
	var data []byte
	err := l.retry(ctx, func() error {
		r, err := l.bucket.NewReader(ctx, l.Prefix+key, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		if max > 0 && r.Size() > max {
			return permanent{fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, r.Size(), max)}
		}
		data, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", l.URL(key), err)
	}
	return data, nil
}

// Write stores data at key. The object appears complete or not at all.
func (l *Location) Write(ctx context.Context, key string, data []byte, contentType string) error {
	err := l.retry(ctx, func() error {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w, err := l.bucket.NewWriter(wctx, l.Prefix+key, &blob.WriterOptions{ContentType: contentType})
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			cancel() // abandons the upload: nothing appears under key
			w.Close()
			return err
		}
		return w.Close()
	})
	if err != nil {
		return fmt.Errorf("storage: writing %s: %w", l.URL(key), err)
	}
	return nil
}

// Delete removes key; a key that does not exist is no error.
func (l *Location) Delete(ctx context.Context, key string) error {
	err := l.retry(ctx, func() error { return l.bucket.Delete(ctx, l.Prefix+key) })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("storage: deleting %s: %w", l.URL(key), err)
	}
	return nil
}

// permanent marks an error that retrying cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs f until it succeeds, fails for good or the policy's attempts
// are spent. NotFound becomes ErrNotFound.
func (l *Location) retry(ctx context.Context, f func() error) error {
	r := l.Retry
	if r.Attempts <= 0 {
		r = DefaultRetry
	}
	wait := r.First
	var err error
	for i := 0; i < r.Attempts; i++ {
		if err = f(); err == nil {
			return nil
		}
		if !transient(err) || ctx.Err() != nil {
			break
		}
		if i == r.Attempts-1 {
			break
		}
		d := time.Duration(float64(wait) * (0.75 + rand.Float64()/2))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, r.Max)
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

// transient reports whether err may pass on a retry.
func transient(err error) bool {
	var p permanent
	if errors.As(err, &p) || errors.Is(err, context.Canceled) {
		return false
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument,
		gcerrors.FailedPrecondition, gcerrors.Unimplemented, gcerrors.AlreadyExists:
		return false
	}
	return true
}

// Split separates an object URL into its bucket URL (scheme, bucket and
// query: what Open needs) and the object's key.
func Split(raw string) (bucketURL, key string, err error) {
	if !IsURL(raw) {
		return "", "", fmt.Errorf("%w: %q", ErrNotURL, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("storage: %q: %w", raw, err)
	}
	key = strings.TrimPrefix(u.Path, "/")
	u.Path = ""
	return u.String(), key, nil
}

// Join is the URL of key under location URL loc (query kept).
func Join(loc, key string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc + "/" + key
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + key
	return u.String()
}

// Pool opens each bucket once and reads objects by URL. It is safe for
// concurrent use.
type Pool struct {
	mu sync.Mutex
	m  map[string]*Location
}

// Read returns the object an URL names (at most max bytes; 0: no limit).
func (p *Pool) Read(ctx context.Context, raw string, max int64) ([]byte, error) {
	bu, key, err := Split(raw)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	loc := p.m[bu]
	if loc == nil {
		if loc, err = Open(ctx, bu); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if p.m == nil {
			p.m = map[string]*Location{}
		}
		p.m[bu] = loc
	}
	p.mu.Unlock()
	return loc.Read(ctx, key, max)
}

// Close closes every bucket opened.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, l := range p.m {
		errs = append(errs, l.Close())
	}
	p.m = nil
	return errors.Join(errs...)
}

// Exists reports whether key exists.
func (l *Location) Exists(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := l.retry(ctx, func() (err error) {
		ok, err = l.bucket.Exists(ctx, l.Prefix+key)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("storage: checking %s: %w", l.URL(key), err)
	}
	return ok, nil
}
