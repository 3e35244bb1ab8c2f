#!/usr/bin/env bash
# End-to-end throughput, files → default outputs, all in one run: tfcam
# explain --method gradcam (the shapes fixture: the CPU side alone; the
# pretrained EfficientNet-Lite0), tfcam predict on the same files, and the
# Python peer (scripts/bench_e2e_peer.py: PIL, tf-keras-vis Gradcam, OpenCV
# overlay, a file per output), on JPEGs at 640×480, 1024×768 and
# 1920×1080 generated here. tfcam's images/s exclude start-up (model load,
# graph building): a 1-image run is timed too and subtracted,
# (N−1)/(T_N − T_1), each T the median of BENCH_E2E_REPEAT (3) runs; the
# peer's exclude its model load. BENCH_E2E_SIZES picks sizes. Per-stage
# milliseconds per image come from tfcam's results.jsonl (wall time of each
# step of an image, so they overlap and add up to more than 1/rate).
# Usage: scripts/bench_e2e.sh BIN PYTHON FIXTURES DEMO_MODEL OUTDIR [N]
set -euo pipefail
bin=$1 py=$2 fixtures=$3 demo=$4 out=$5 n=${6:-200}
repeat=${BENCH_E2E_REPEAT:-3} # timings per run; the median is reported
here=$(cd "$(dirname "$0")" && pwd)
cores=$(nproc)
mkdir -p "$out"
"$py" "$here/bench_images.py" "$out/images" "$n" 640x480 1024x768 1920x1080
secs() { # command... → wall seconds
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null 2>"$out/last.log" || { cat "$out/last.log" >&2; return 1; }; t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{printf "%.3f", $2-$1}'
}
steady() { # dir-with-N dir-with-1 command-prefix... → images/s excluding start-up
  # The median of $repeat timings of each run: one sample of a 200-image
  # run varies by ±25 % on a shared 2-core machine.
  local many=$1 one=$2; shift 2
  local tn=() t1=() i
  for ((i = 0; i < repeat; i++)); do
    rm -rf "$out/run"; tn+=("$(secs "$@" "$many")")
    rm -rf "$out/run"; t1+=("$(secs "$@" "$one")")
  done
  awk -v n="$n" -v a="$(median "${tn[@]}")" -v b="$(median "${t1[@]}")" 'BEGIN{printf "%.1f", (n-1)/(a-b)}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
stages() { # per-stage ms per image from the last N-image run's results.jsonl
  rm -rf "$out/run"; "$@" >/dev/null 2>&1
  "$py" -c 'import json,sys,statistics as s
L=[json.loads(l) for l in open(sys.argv[1])]
print(" / ".join("%.1f" % s.mean(x["timings_ms"][k] for x in L) for k in ("read","decode","explain","encode")))' "$out/run/results.jsonl"
}
echo "Images/s on $cores cores, start-up excluded; per-stage ms per image (read / decode / graph share / render+write) from tfcam's records."
echo
echo "| images | model | tfcam explain | per core | tfcam predict | explain/predict | Python peer | tfcam/peer | tfcam stages ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for size in ${BENCH_E2E_SIZES:-640x480 1024x768 1920x1080}; do
  for mdir in "$fixtures/shapes" "$demo"; do
    model=$mdir/model
    e=$(steady "$out/images/$size" "$out/images/$size-one" "$bin" explain --model "$model" --method gradcam --out "$out/run")
    p=$(steady "$out/images/$size" "$out/images/$size-one" "$bin" predict --model "$model")
    st=$(stages "$bin" explain --model "$model" --method gradcam --out "$out/run" "$out/images/$size")
    rm -rf "$out/peer"
    peer=$("$py" "$here/bench_e2e_peer.py" "$mdir" "$out/images/$size" "$out/peer" 2>/dev/null | tail -1 | awk '{print $1}')
    echo "| $size | $(basename "$mdir") | $e | $(awk "BEGIN{printf \"%.1f\", $e/$cores}") | $p | $(awk "BEGIN{printf \"%.2f\", $e/$p}") | $peer | $(awk "BEGIN{printf \"%.1f\", $e/$peer}")× | $st |"
  done
done
