"""Reference values of the sanity checks' similarity measures, computed the
way Quantus 0.5.3 computes them: scipy.stats.spearmanr (Quantus'
correlation_spearman), the same on absolute values (MPRT's abs=True), and
skimage.metrics.structural_similarity with the data range of both inputs
(Quantus' ssim), on flattened maps (as Quantus passes them) and on 2-D maps.

Given a work directory holding a.npy and b.npy, float32 [K,H,W] pairs of
maps, writes WORK/reference.txt (text: float64 precision), one line per
pair:
spearman spearman_abs ssim_flat ssim_2d (repr of Python floats).

Usage: python scripts/reference_similarity.py WORK_DIR
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np
import scipy
import skimage
from quantus.functions import similarity_func


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    work = sys.argv[1]
    a = np.load(os.path.join(work, "a.npy")).astype(np.float64)
    b = np.load(os.path.join(work, "b.npy")).astype(np.float64)
    lines = []
    for x, y in zip(a, b):
        rng = float(np.abs(max(x.max(), y.max()) - min(x.min(), y.min())))
        row = [
            scipy.stats.spearmanr(x.ravel(), y.ravel())[0],
            scipy.stats.spearmanr(np.abs(x.ravel()), np.abs(y.ravel()))[0],
            similarity_func.ssim(x.ravel(), y.ravel()),
            skimage.metrics.structural_similarity(x, y, data_range=rng),
        ]
        lines.append(" ".join(repr(float(v)) for v in row))
    with open(os.path.join(work, "reference.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
