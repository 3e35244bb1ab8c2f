#!/bin/sh
# Builds and runs a throw-away Go module that imports tfcam, as an
# embedder's program would, with only the flags `make env` prints: the
# check that a program outside this repository builds with the documented
# steps. Usage: scripts/embed_check.sh REPO_ROOT
set -eu
root=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
eval "$(make -s -C "$root" env)"
cd "$work"
cat > go.mod <<MOD
module example.com/embedder

go $(go -C "$root" list -m -f '{{.GoVersion}}')

require github.com/tfcam/tfcam v0.0.0

replace github.com/tfcam/tfcam => $root
MOD
cat > main.go <<'GO'
package main

import (
	"fmt"
	"os"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
)

func main() {
	_, err := tfcam.Open(os.Args[1], tfcam.Options{})
	fmt.Println("methods:", len(explainer.Methods()) > 0, "open of a non-model fails:", err != nil)
}
GO
# The module cache already holds tfcam's dependencies (make setup);
# resolve from it, as an embedder's first build would from the proxy.
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod tidy
go build -o embedder .
out=$(./embedder "$work")
echo "embed_check: $out"
test "$out" = "methods: true open of a non-model fails: true"
# An embedder's module graph holds none of tfcam's deploy-only or
# test-only modules (the fake S3 is the nested module internal/fakes3/server).
mods=$(go list -m all)
for m in k8s.io/api github.com/johannesboyne/gofakes3; do
	if printf '%s\n' "$mods" | grep -q "^$m "; then
		echo "embed_check: $m is in an embedder's module graph" >&2
		exit 1
	fi
done
