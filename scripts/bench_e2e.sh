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
# Every run writes into a new folder, and nothing is deleted until the end:
# on ext4 without a journal (this machine's disk), creating files within
# a minute or more of deleting many others makes the kernel's inode
# allocator skip each recently freed inode (recently_deleted, 8–17 % of all
# CPU in a perf profile of a run that followed `rm -rf` of the previous
# run's 800 files; none in a run into a folder after no deletions). Runs
# that deleted their predecessor's outputs first measured 86 img/s where
# the same binary otherwise gives 120–137.
runs=$out/runs.$$
mkdir -p "$runs"
trap 'rm -rf "$runs"' EXIT
fresh() { mktemp -d "$runs/r.XXXXXX"; }
"$py" "$here/bench_images.py" "$out/images" "$n" 640x480 1024x768 1920x1080
secs() { # command... → "wall cpu" seconds (cpu = user + system of the command and its children); @OUT@ becomes a new folder
  # sync first, so that the previous run's outputs are not written back by
  # the kernel during this one, on the same cores.
  local a args=() TIMEFORMAT='%R %U %S' r
  for a in "$@"; do [[ $a == @OUT@ ]] && a=$(fresh); args+=("$a"); done
  sync
  r=$({ time "${args[@]}" >/dev/null 2>"$out/last.log"; } 2>&1) || { cat "$out/last.log" >&2; return 1; }
  echo "$r" | tail -1 | awk '{printf "%.3f %.3f", $1, $2+$3}'
}
steady() { # dir-with-N dir-with-1 command-prefix... → "images/s CPU-ms-per-image", start-up excluded
  # The median of $repeat timings of each run: one sample of a 200-image
  # run varies by ±25 % on a shared 2-core machine. CPU time per image is
  # the steadier figure: it does not move with other processes' load.
  local many=$1 one=$2; shift 2
  local tn=() t1=() cn=() c1=() i r
  for ((i = 0; i < repeat; i++)); do
    r=$(secs "$@" "$many"); tn+=("${r% *}"); cn+=("${r#* }")
    r=$(secs "$@" "$one"); t1+=("${r% *}"); c1+=("${r#* }")
  done
  awk -v n="$n" -v a="$(median "${tn[@]}")" -v b="$(median "${t1[@]}")" -v ca="$(median "${cn[@]}")" -v cb="$(median "${c1[@]}")" \
    'BEGIN{printf "%.1f %.1f", (n-1)/(a-b), 1000*(ca-cb)/(n-1)}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
stages() { # OUT IMAGES command... → per-stage ms per image from an N-image run's results.jsonl
  local d=$1 imgs=$2; shift 2
  "$@" --out "$d" "$imgs" >/dev/null 2>&1
  "$py" -c 'import json,sys,statistics as s
L=[json.loads(l) for l in open(sys.argv[1])]
print(" / ".join("%.1f" % s.mean(x["timings_ms"][k] for x in L) for k in ("read","decode","explain","encode")))' "$d/results.jsonl"
}
echo "Images/s on $cores cores, start-up excluded (wall time); CPU ms per image (user + system, all threads; 1000/it is images/s per fully used core); per-stage ms per image (read / decode / graph share / render+write) from tfcam's records."
echo
echo "| images | model | tfcam explain | per core | CPU ms/img | img/s per core-second | tfcam predict | explain/predict | Python peer | tfcam/peer | tfcam stages ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for size in ${BENCH_E2E_SIZES:-640x480 1024x768 1920x1080}; do
  for mdir in "$fixtures/shapes" "$demo"; do
    model=$mdir/model
    r=$(steady "$out/images/$size" "$out/images/$size-one" "$bin" explain --model "$model" --method gradcam --out @OUT@)
    read -r e ecpu <<<"$r"
    r=$(steady "$out/images/$size" "$out/images/$size-one" "$bin" predict --model "$model")
    read -r p _ <<<"$r"
    st=$(stages "$(fresh)" "$out/images/$size" "$bin" explain --model "$model" --method gradcam)
    sync
    peer=$("$py" "$here/bench_e2e_peer.py" "$mdir" "$out/images/$size" "$(fresh)" 2>/dev/null | tail -1 | awk '{print $1}')
    echo "| $size | $(basename "$mdir") | $e | $(awk "BEGIN{printf \"%.1f\", $e/$cores}") | $ecpu | $(awk "BEGIN{printf \"%.1f\", 1000/$ecpu}") | $p | $(awk "BEGIN{printf \"%.2f\", $e/$p}") | $peer | $(awk "BEGIN{printf \"%.1f\", $e/$peer}")× | $st |"
  done
done
