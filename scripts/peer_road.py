"""Third-party reference for ROAD: Quantus 0.5.3's noisy linear imputation
and ROAD metric on maps tfcam computed.

Given a fixture directory with model.keras (softmax head) and a work
directory holding

  inputs.npy   float32 [N,H,W,C] images, as fed to the model
  maps.npy     float32 [N,H,W] maps without ties (see the Go test)
  targets.npy  explained class per image [N] (integer values, any dtype)

and the percentages, writes into the work directory

  imputed.npy  float32 [N,2P,H,W,C]: for each image the MoRF images at each
               percentage, then the LeRF ones, filled by
               quantus.functions.perturb_func.noisy_linear_imputation with
               noise 0 (channels first, as Quantus' ROAD calls it)
  probs.npy    float32 [N,2P,classes]: the Keras model on imputed.npy
  quantus.json {"morf_accuracy": [...]}: quantus.ROAD(percentages, noise=0)
               on the whole batch, the mean over images of [argmax == target]
               after removing the most relevant pixels

Pixels are ranked as Quantus ranks them, np.argsort(map)[::-1] (MoRF), and
LeRF removes the first ones of np.argsort(map); without ties that is tfcam's
order. A pixel count is int(H*W*p/100).

Usage: python scripts/peer_road.py FIXTURE_DIR WORK_DIR P1,P2,...
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import numpy as np
import keras
import quantus
from quantus.functions.perturb_func import noisy_linear_imputation


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    model = keras.models.load_model(os.path.join(sys.argv[1], "model.keras"))
    work = sys.argv[2]
    percentages = [float(p) for p in sys.argv[3].split(",")]
    x = np.load(os.path.join(work, "inputs.npy")).astype(np.float32)
    maps = np.load(os.path.join(work, "maps.npy")).astype(np.float32)
    targets = np.load(os.path.join(work, "targets.npy")).astype(np.int64)
    n, h, w, c = x.shape
    imputed = np.zeros((n, 2 * len(percentages), h, w, c), np.float32)
    for i in range(n):
        order = np.argsort(maps[i], axis=None)
        xc = np.transpose(x[i], (2, 0, 1)).astype(np.float64)
        for j, p in enumerate(percentages):
            k = int(h * w * p / 100)
            for side, idx in enumerate([order[::-1][:k], order[:k]]):
                filled = noisy_linear_imputation(arr=xc, indices=idx, noise=0.0)
                imputed[i, side * len(percentages) + j] = np.transpose(filled, (1, 2, 0))
    np.save(os.path.join(work, "imputed.npy"), imputed)
    probs = model.predict(imputed.reshape(-1, h, w, c), batch_size=64, verbose=0)
    np.save(os.path.join(work, "probs.npy"), probs.reshape(n, 2 * len(percentages), -1).astype(np.float32))
    metric = quantus.ROAD(percentages=percentages, noise=0.0, disable_warnings=True, display_progressbar=False)
    acc = metric(model=model, x_batch=x, y_batch=targets, a_batch=maps, channel_first=False)
    with open(os.path.join(work, "quantus.json"), "w") as f:
        json.dump({"morf_accuracy": [float(acc[p]) for p in percentages]}, f)


if __name__ == "__main__":
    main()
