package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfcam/tfcam/internal/fakes3"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/storage"
)

func TestIsURL(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"s3://b/p", true}, {"gs://b", true}, {"azblob://c/p/", true}, {"file:///tmp/x", true},
		{"photos/", false}, {"/data/x.jpg", false}, {"http://host/x.jpg", false}, {"://x", false}, {"s3:/b", false},
	} {
		if got := storage.IsURL(tc.s); got != tc.want {
			t.Errorf("IsURL(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	if _, err := storage.Open(context.Background(), "photos/"); !errors.Is(err, storage.ErrNotURL) {
		t.Errorf("Open(local path): %v, want ErrNotURL", err)
	}
}

// TestS3RoundTrip writes, lists, reads and deletes through a real S3 API
// (gofakes3 on 127.0.0.1), with and without injected faults: every fourth
// request answered 503 or cut off. What is read back is what was written;
// the listing is complete, in key order, and only under the prefix.
func TestS3RoundTrip(t *testing.T) {
	for _, each := range []int{0, 4} {
		t.Run(fmt.Sprintf("fail-each=%d", each), func(t *testing.T) {
			if each > 0 {
				fixture.Slow(t, "the injected S3 faults take 15-20 s")
			}
			s := fakes3.Start(t)
			s.CreateBucket(t, "bkt")
			s.Put(t, "bkt", "other/x.jpg", []byte("not under the prefix"))
			ctx := context.Background()
			loc, err := storage.Open(ctx, s.URL("bkt", "in/"))
			if err != nil {
				t.Fatal(err)
			}
			defer loc.Close()
			loc.Retry = storage.Retry{Attempts: 8, First: time.Millisecond, Max: 10 * time.Millisecond}
			s.FailEach(each)
			// More keys than one list page (1000) would be slow here; the
			// page loop is exercised with pages of whatever the server
			// returns.
			want := map[string][]byte{}
			for i := range 30 {
				key := fmt.Sprintf("d%d/img%03d.png", i%3, i)
				data := bytes.Repeat([]byte{byte(i)}, 100+i)
				want[key] = data
				if err := loc.Write(ctx, key, data, "image/png"); err != nil {
					t.Fatal(err)
				}
			}
			var keys []string
			for o, err := range loc.List(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, o.Key)
				if o.Size != int64(len(want[o.Key])) {
					t.Errorf("%s: size %d, want %d", o.Key, o.Size, len(want[o.Key]))
				}
			}
			if len(keys) != len(want) || !slices.IsSorted(keys) {
				t.Fatalf("listed %d keys (sorted: %v), want %d", len(keys), slices.IsSorted(keys), len(want))
			}
			for k, data := range want {
				got, err := loc.Read(ctx, k, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("%s: read %d bytes that differ from the %d written", k, len(got), len(data))
				}
			}
			if _, err := loc.Read(ctx, "d0/img000.png", 10); !errors.Is(err, storage.ErrTooLarge) {
				t.Errorf("read over the limit: %v, want ErrTooLarge", err)
			}
			if _, err := loc.Read(ctx, "missing.png", 0); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("read of a missing key: %v, want ErrNotFound", err)
			}
			if err := loc.Delete(ctx, "d0/img000.png"); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Get(t, "bkt", "in/d0/img000.png"); ok {
				t.Error("deleted object still there")
			}
			if each > 0 && s.Failed() == 0 {
				t.Error("no fault was injected")
			}
			t.Logf("%d requests, %d failed on purpose", s.Requests(), s.Failed())
		})
	}
}

// TestNoRetryGivesUp checks that with a single attempt an injected fault
// surfaces as an error: the retries above are what mend them.
func TestNoRetryGivesUp(t *testing.T) {
	fixture.Slow(t, "an injected S3 fault takes 1.5-4 s")
	s := fakes3.Start(t)
	s.CreateBucket(t, "bkt")
	ctx := context.Background()
	loc, err := storage.Open(ctx, s.URL("bkt", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	loc.Retry = storage.Retry{Attempts: 1}
	s.FailEach(1)
	if err := loc.Write(ctx, "x", []byte("x"), ""); err == nil {
		t.Fatal("write succeeded while every request failed")
	}
}

// TestFileURL checks file:// locations: the path is the folder.
func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	loc, err := storage.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	if err := loc.Write(ctx, "a/b.txt", []byte("hello"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "a", "b.txt"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("file: %q, %v", got, err)
	}
}

// TestListStreams checks a listing of more keys than a page (1000) is
// complete and in order, and that it streams: when the first object
// arrives, one page has been asked for, not the whole listing.
func TestListStreams(t *testing.T) {
	s := fakes3.Start(t)
	s.CreateBucket(t, "bkt")
	const n = 2345
	for i := range n {
		s.Put(t, "bkt", fmt.Sprintf("p/%05d.jpg", i), []byte{1})
	}
	ctx := context.Background()
	loc, err := storage.Open(ctx, s.URL("bkt", "p/"))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	before := s.Requests()
	i := 0
	for o, err := range loc.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if got := s.Requests() - before; got != 1 {
				t.Errorf("%d requests before the first object, want 1 (one page)", got)
			}
		}
		if want := fmt.Sprintf("%05d.jpg", i); o.Key != want {
			t.Fatalf("object %d is %q, want %q", i, o.Key, want)
		}
		i++
	}
	if i != n {
		t.Errorf("listed %d objects, want %d", i, n)
	}
	if pages := s.Requests() - before; pages < 3 {
		t.Errorf("%d list requests for %d keys, want at least 3 pages", pages, n)
	}
}

// TestListControlKeys: one key with a control character (written by
// another tool: gocloud.dev escapes them) does not make its prefix
// unlistable. It is listed with ErrControlKey, the other keys — spaces,
// '+' and '%' included, which the URL-encoded listing must decode
// exactly — are listed and readable.
func TestListControlKeys(t *testing.T) {
	s := fakes3.Start(t)
	s.CreateBucket(t, "bkt")
	keys := []string{"a.png", "b\x01c.png", "d e+f%25.png", "g\tcol.png", "sub/z.png"}
	for _, k := range keys {
		s.Put(t, "bkt", "p/"+k, []byte(k))
	}
	ctx := context.Background()
	loc, err := storage.Open(ctx, s.URL("bkt", "p/"))
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	var got []string
	for o, err := range loc.List(ctx, "") {
		if err != nil {
			t.Fatalf("listing stopped after %q: %v", got, err)
		}
		got = append(got, o.Key)
		control := strings.ContainsAny(o.Key, "\x01\t")
		if control != errors.Is(o.Err, storage.ErrControlKey) {
			t.Errorf("%q: Err %v", o.Key, o.Err)
		}
		if control {
			continue
		}
		data, err := loc.Read(ctx, o.Key, 0)
		if err != nil || string(data) != o.Key {
			t.Errorf("%q reads %q, %v", o.Key, data, err)
		}
	}
	if !slices.Equal(got, keys) {
		t.Errorf("listed %q, want %q", got, keys)
	}
}
