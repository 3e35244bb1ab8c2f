#!/usr/bin/env bash
# End-to-end throughput, files → default outputs, in one run: tfcam explain
# (shapes fixture: the CPU side alone; EfficientNet-Lite0 with gradcam)
# beside tfcam predict on the same JPEGs (640×480, 1024×768, 1920×1080,
# generated here). Prints a Markdown table (images/s, images/s per core).
# Usage: scripts/bench_e2e.sh BIN PYTHON FIXTURES DEMO_MODEL OUTDIR [N]
set -euo pipefail
bin=$1 py=$2 fixtures=$3 demo=$4 out=$5 n=${6:-200}
cores=$(nproc)
mkdir -p "$out"
"$py" - "$out/images" "$n" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for w, h in [(640, 480), (1024, 768), (1920, 1080)]:
    d = os.path.join(root, f"{w}x{h}")
    if os.path.isdir(d) and len(os.listdir(d)) == n:
        continue
    os.makedirs(d, exist_ok=True)
    y, x = np.mgrid[0:h, 0:w]
    for i in range(n):
        img = np.stack([(x * 255 // w + i) % 256, (y * 255 // h) % 256, (x + y + 7 * i) % 256], -1).astype(np.uint8)
        img += rng.integers(0, 12, img.shape, dtype=np.uint8)
        s = h // 4
        img[s:2 * s, (i * 13) % (w - s):(i * 13) % (w - s) + s] = [250, 250, 40]
        Image.fromarray(img).save(os.path.join(d, f"img{i:04d}.jpg"), quality=90)
PY
rate() { # command... → images/s over the run, from wall time
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null 2>"$out/last.log" || { cat "$out/last.log" >&2; return 1; }; t1=$(date +%s.%N)
  echo "$n $t0 $t1" | awk '{printf "%.1f", $1/($3-$2)}'
}
echo "| images | model | tfcam explain img/s | per core | tfcam predict img/s | explain/predict |"
echo "|---|---|---|---|---|---|"
for size in 640x480 1024x768 1920x1080; do
  for model in "$fixtures/shapes/model" "$demo/model"; do
    rm -rf "$out/run"
    e=$(rate "$bin" explain --model "$model" --method gradcam --out "$out/run" "$out/images/$size")
    p=$(rate "$bin" predict --model "$model" "$out/images/$size")
    echo "| $size | $(basename "$(dirname "$model")") | $e | $(awk "BEGIN{printf \"%.1f\", $e/$cores}") | $p | $(awk "BEGIN{printf \"%.2f\", $e/$p}") |"
  done
done
