// Command tfcam-load is a closed-loop HTTP load generator for `tfcam
// serve`: C clients each send one image at a time (the raw file, as
// Content-Type image/jpeg or image/png) to an :explain or :predict URL for
// a given duration, and it prints throughput and latency percentiles.
//
//	tfcam-load -url http://127.0.0.1:8501/v1/models/shapes:explain -c 8 -d 30s IMAGES...
//
// IMAGES are files or directories (their .jpg, .jpeg and .png files);
// they are read into memory first and sent round-robin. Requests of a
// warm-up period (-warmup) are sent but not counted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// image is one file to send.
type image struct {
	data []byte
	ct   string
}

// result is one run's outcome; printed as JSON with -json.
type result struct {
	Concurrency int            `json:"concurrency"`
	Seconds     float64        `json:"seconds"`
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	Codes       map[string]int `json:"codes"`
	PerSecond   float64        `json:"images_per_second"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	Maxms       float64        `json:"max_ms"`
}

func main() {
	url := flag.String("url", "", "endpoint, e.g. http://127.0.0.1:8501/v1/models/shapes:explain (required)")
	conc := flag.Int("c", 8, "concurrent clients, each with one request at a time")
	dur := flag.Duration("d", 30*time.Second, "how long to send requests (after the warm-up)")
	warm := flag.Duration("warmup", 2*time.Second, "requests sent first and not counted")
	token := flag.String("token", "", "bearer token")
	asJSON := flag.Bool("json", false, "print the result as one JSON line")
	flag.Parse()
	if *url == "" || flag.NArg() == 0 || *conc < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "usage: tfcam-load -url URL [-c N] [-d DURATION] IMAGES...")
		os.Exit(2)
	}
	imgs, err := readImages(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "tfcam-load:", err)
		os.Exit(1)
	}
	// One kept-alive connection per client, as a pool of real clients.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxIdleConns: *conc}}
	res := run(context.Background(), client, *url, *token, imgs, *conc, *warm, *dur)
	if *asJSON {
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
	} else {
		fmt.Printf("c=%d  %.1f img/s  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  ok %d  failed %d  %v\n",
			res.Concurrency, res.PerSecond, res.P50ms, res.P90ms, res.P99ms, res.Maxms, res.OK, res.Failed, res.Codes)
	}
	if res.Failed > 0 {
		os.Exit(1)
	}
}

// readImages reads the files, and the images in the directories, given.
func readImages(args []string) ([]image, error) {
	var imgs []image
	add := func(path string) error {
		var ct string
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jpg", ".jpeg":
			ct = "image/jpeg"
		case ".png":
			ct = "image/png"
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		imgs = append(imgs, image{data, ct})
		return nil
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if err := add(a); err != nil {
				return nil, err
			}
			continue
		}
		if err := filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			return add(p)
		}); err != nil {
			return nil, err
		}
	}
	if len(imgs) == 0 {
		return nil, errors.New("no .jpg, .jpeg or .png files in the arguments")
	}
	return imgs, nil
}

// run sends requests from conc clients for warm+dur and measures the
// requests that start after warm.
func run(ctx context.Context, client *http.Client, url, token string, imgs []image, conc int, warm, dur time.Duration) result {
	var next atomic.Int64
	start := time.Now()
	measureFrom, stop := start.Add(warm), start.Add(warm+dur)
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[string]int{}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				t0 := time.Now()
				if t0.After(stop) {
					return
				}
				img := imgs[int(next.Add(1)-1)%len(imgs)]
				code := send(ctx, client, url, token, img)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom).Seconds()
	res := result{Concurrency: conc, Seconds: elapsed, Codes: codes, OK: codes["200"]}
	res.Failed = len(lat) - res.OK
	res.PerSecond = float64(res.OK) / elapsed
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	res.P50ms, res.P90ms, res.P99ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		res.Maxms = ms(lat[len(lat)-1])
	}
	return res
}

// send posts one image and returns the status code, or the error's kind.
func send(ctx context.Context, client *http.Client, url, token string, img image) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(img.data))
	if err != nil {
		return "bad-request"
	}
	req.Header.Set("Content-Type", img.ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return "error"
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return fmt.Sprint(res.StatusCode)
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
