#!/usr/bin/env bash
# tfcam over a bucket (or a shared folder) as a Slurm job array: one task
# per shard. Slurm sets SLURM_ARRAY_TASK_ID; tfcam reads it with
# --shard-count, which must equal the array's size (0-63 → 64).
# Submit: sbatch deploy/slurm/tfcam-array.sh
# Resume failed shards: sbatch --array=<their ids> deploy/slurm/tfcam-array.sh
# (each task skips what its shard already finished).
#SBATCH --job-name=tfcam
#SBATCH --array=0-63%8
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=24G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=tfcam-%A_%a.log
set -euo pipefail

SHARDS=64
MODEL=${MODEL:-/shared/models/classifier}
INPUTS=${INPUTS:-s3://my-images/2026/?region=eu-west-1}
OUT=${OUT:-s3://my-results/run-2026-11-30/?region=eu-west-1}
TFCAM=${TFCAM:-tfcam}   # or: apptainer exec --nv tfcam-gpu.sif tfcam

# Exit 2 is a usage error: do not let --requeue retry it.
status=0
"$TFCAM" explain --model "$MODEL" --method gradcam,gradcam++,hirescam --batch 64 \
  --shard-count "$SHARDS" --out "$OUT" "$INPUTS" || status=$?
if [ "$status" -eq 2 ]; then
  echo "tfcam: usage error in shard $SLURM_ARRAY_TASK_ID; fix the command, then resubmit" >&2
fi
exit "$status"
