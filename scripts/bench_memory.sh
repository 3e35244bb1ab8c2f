#!/usr/bin/env bash
# Peak memory of each method at the default tensor budget: one `tfcam
# explain --class top1` run per method on the pretrained EfficientNet-Lite0
# (1,280 channels at its default layer: the widest Score-CAM family case
# tfcam ships) over the demo's two photos, with GNU time's maximum
# resident set size, wall and CPU seconds; `tfcam predict` on the same
# photos is the floor. Counts that only repeat the same chunked work
# (SS-CAM's and IS-CAM's samples) are cut to 2 to keep the run short: the
# copies are built and scored one chunk at a time, so their peak does not
# depend on the count. BENCH_MEMORY_METHODS picks methods (default: all).
# Usage: scripts/bench_memory.sh BIN DEMO_MODEL OUTDIR
set -euo pipefail
bin=$1 demo=$2 out=$3
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every registered method: the first column of `tfcam methods`' table.
methods=${BENCH_MEMORY_METHODS:-$("$bin" methods | awk '/^METHOD /{on=1; next} on && NF == 0 {exit} on {print $1}')}
opt() {
	case $1 in
	sscam | iscam) echo "$1:samples=2" ;;
	*) echo "$1" ;;
	esac
}
measure() { # label, command...
	local label=$1
	shift
	if /usr/bin/time -f '%M %e %U %S' -o "$work/time" "$@" >"$work/log" 2>&1; then
		read -r kb wall user sys <"$work/time"
		printf '| %s | %d | %.1f | %.1f |\n' "$label" $((kb / 1024)) "$wall" "$(echo "$user + $sys" | bc)"
	else
		printf '| %s | failed: %s | | |\n' "$label" "$(grep -m1 -i error "$work/log" | cut -c1-120)"
	fi
}
echo "Peak RSS per method, EfficientNet-Lite0, 2 photos, --class top1, default --max-tensor-mb ($(nproc) cores, $(date -u +%F))"
echo
echo "| method | peak RSS MB | wall s | CPU s |"
echo "|---|---|---|---|"
measure "(predict)" "$bin" predict --model "$demo/model" "$demo/photos"
i=0
for m in $methods; do
	i=$((i + 1))
	measure "$(opt "$m")" "$bin" explain --model "$demo/model" --method "$(opt "$m")" --class top1 --out "$work/out$i" "$demo/photos"
done
