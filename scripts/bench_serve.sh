#!/usr/bin/env bash
# Load benchmark of `tfcam serve` beside `tfcam explain` in one run, for the
# shapes fixture and the pretrained EfficientNet-Lite0, gradcam, maps as
# 16-bit PNGs (the server's default answer; explain --save map16). For each
# model: the batch job's images/s (start-up excluded: (N−1)/(T_N − T_1), as
# bench_e2e.sh), then `tfcam serve` (--max-batch 32, --batch-timeout 5ms)
# under tfcam-load at 1, 8 and 64 concurrent clients, each sending the
# same JPEGs (640×480, generated here) one at a time for SECONDS seconds
# after a 3 s warm-up.
# BENCH_SERVE_MAX_BATCH (default 32) sets the server's --max-batch.
# Usage: scripts/bench_serve.sh TFCAM TFCAM_LOAD PYTHON FIXTURES DEMO_MODEL OUTDIR [SECONDS] [N]
set -euo pipefail
bin=$1 load=$2 py=$3 fixtures=$4 demo=$5 out=$6 secs=${7:-60} n=${8:-200}
maxbatch=${BENCH_SERVE_MAX_BATCH:-32}
here=$(cd "$(dirname "$0")" && pwd)
cores=$(nproc)
mkdir -p "$out"
"$py" "$here/bench_images.py" "$out/images" "$n" 640x480
secs_of() { # command... → wall seconds
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null 2>"$out/last.log" || { cat "$out/last.log" >&2; return 1; }; t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{printf "%.3f", $2-$1}'
}
explain_rate() { # model → images/s of the batch job, start-up excluded
  local tn t1
  rm -rf "$out/run"; tn=$(secs_of "$bin" explain --model "$1" --method gradcam --save map16 --gallery=false --out "$out/run" "$out/images/640x480")
  rm -rf "$out/run"; t1=$(secs_of "$bin" explain --model "$1" --method gradcam --save map16 --gallery=false --out "$out/run" "$out/images/640x480-one")
  awk -v n="$n" -v a="$tn" -v b="$t1" 'BEGIN{printf "%.1f", (n-1)/(a-b)}'
}
batches() { # URL → "sum count" of the batch-size histogram (warm-up included)
  curl -s "$1/metrics" | awk '/^tfcam_serve_batch_size_sum/{s=$2} /^tfcam_serve_batch_size_count/{c=$2} END{print s+0, c+0}'
}
echo "tfcam serve under load vs tfcam explain (batch job) on $cores cores: $n JPEGs 640×480, gradcam, 16-bit PNG maps; ${secs} s per level after a 3 s warm-up; closed loop (each client sends its next image when answered); serve --max-batch $maxbatch --batch-timeout 5ms, explain --batch 32."
echo
echo "| model | clients | serve img/s | p50 ms | p99 ms | p99/p50 | failed | mean batch | explain img/s | serve/explain |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mdir in "$fixtures/shapes" "$demo"; do
  model=$mdir/model
  name=$(basename "$mdir")
  ex=$(explain_rate "$model")
  "$bin" serve --model "$model" --name m --method gradcam --addr 127.0.0.1:0 --max-batch "$maxbatch" --batch-timeout 5ms --max-queue 4096 2>"$out/serve.log" &
  pid=$!
  url=
  for _ in $(seq 600); do
    url=$(sed -n 's/^tfcam serve: listening on \([^,]*\),.*/\1/p' "$out/serve.log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "tfcam serve did not start" >&2; kill "$pid"; exit 1; }
  for c in 1 8 64; do
    b0=$(batches "$url")
    r=$("$load" -url "$url/v1/models/m:explain" -c "$c" -d "${secs}s" -warmup 3s -json "$out/images/640x480" || true)
    b1=$(batches "$url")
    echo "$r" >>"$out/load.jsonl"
    "$py" -c 'import json,sys
r=json.loads(sys.argv[1]); ex=float(sys.argv[2])
s0,n0=map(float,sys.argv[4].split()); s1,n1=map(float,sys.argv[5].split())
print("| %s | %d | %.1f | %.1f | %.1f | %.2f | %d | %.1f | %.1f | %.2f |" % (sys.argv[3], r["concurrency"], r["images_per_second"], r["p50_ms"], r["p99_ms"],
  r["p99_ms"]/max(r["p50_ms"],1e-9), r["failed"], (s1-s0)/max(n1-n0,1), ex, r["images_per_second"]/ex))' "$r" "$ex" "$name" "$b0" "$b1"
  done
  kill -TERM "$pid"
  wait "$pid" || { echo "tfcam serve exited $? after SIGTERM" >&2; cat "$out/serve.log" >&2; }
done
