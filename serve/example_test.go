package serve_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/fixture"
	"github.com/tfcam/tfcam/serve"
)

// TestMain runs the examples outside the -short lane only: they need the
// demo model.
func TestMain(m *testing.M) { os.Exit(fixture.RunExamplesUnlessShort(m)) }

// Serve a model from Go: one handler answers TF Serving–style predict
// and explain requests, batching concurrent requests into one graph run.
func ExampleNew() {
	// The model `make demo` explains (built by `make setup`).
	demo := fixture.DemoDir()
	m, err := tfcam.Open(filepath.Join(demo, "model"), tfcam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	srv, err := serve.New(serve.Options{MaxBatch: 8}, []serve.Model{
		{Name: "lite0", Model: m, Config: explainer.Config{}, Method: "gradcam", Class: "top1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler()) // or http.ListenAndServe(addr, srv.Handler())
	defer hs.Close()

	photo, err := os.Open(filepath.Join(demo, "photos", "coffee.png"))
	if err != nil {
		log.Fatal(err)
	}
	defer photo.Close()
	resp, err := http.Post(hs.URL+"/v1/models/lite0:explain?method=gradcam,layercam", "image/png", photo)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Predictions []struct {
			Label string `json:"label"`
			Maps  []struct {
				Method        string `json:"method"`
				Width, Height int
			} `json:"maps"`
		} `json:"predictions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	for _, mp := range answer.Predictions[0].Maps {
		fmt.Printf("%s of %q: %dx%d\n", mp.Method, answer.Predictions[0].Label, mp.Width, mp.Height)
	}
	// Output:
	// 200 OK
	// gradcam of "espresso": 224x224
	// layercam of "espresso": 224x224
}
