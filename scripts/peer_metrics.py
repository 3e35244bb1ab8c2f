"""Third-party reference metrics: Xplique 2.0.2's Deletion, Insertion,
AverageDropMetric and AverageIncreaseMetric on maps tfcam computed.

Given a fixture directory with model.keras (softmax head: the scores are
probabilities, as tfcam's) and work directories each holding

  inputs.npy   float32 [N,H,W,C] images, as fed to the model
  maps.npy     float32 [N,H,W] maps in [0,1], without ties (see the Go test)
  targets.npy  explained class per image [N] (integer values, any dtype)

writes WORK/xplique.json in each:

  deletion, insertion           mean curves over the batch (steps+1 values)
  deletion_auc, insertion_auc   Xplique's evaluate(): mean(s[:-1]+s[1:])/2
  average_drop                  per image, relu(Y-O)/(Y+1e-8), a fraction
  increase                      per image, [O > Y]
  base, masked                  Y and O per image (the masked input is x·m,
                                m = |map| min-max normalised with eps 1e-8)

Variant: baseline_mode=0.0 (the value 0 in input space), the given steps,
max_percentage_perturbed=1.0; a pixel is all its channels at once.

Usage: python scripts/peer_metrics.py FIXTURE_DIR STEPS WORK_DIR [WORK_DIR ...]
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import numpy as np
import tensorflow as tf
import keras
from xplique.metrics import AverageDropMetric, AverageIncreaseMetric, Deletion, Insertion


def evaluate(model, work, steps):
    x = np.load(os.path.join(work, "inputs.npy"))
    maps = np.load(os.path.join(work, "maps.npy"))
    targets = np.load(os.path.join(work, "targets.npy")).astype(np.int32)
    y = tf.one_hot(targets, model.output_shape[-1]).numpy()
    out = {}
    for name, cls in [("deletion", Deletion), ("insertion", Insertion)]:
        metric = cls(model, x, y, batch_size=64, baseline_mode=0.0, steps=steps, max_percentage_perturbed=1.0)
        out[name] = [float(v) for v in metric.detailed_evaluate(maps).values()]
        out[name + "_auc"] = float(metric.evaluate(maps))
    xt, yt, mt = tf.constant(x), tf.constant(y), tf.constant(maps)
    drop = AverageDropMetric(model, x, y, batch_size=64)
    out["average_drop"] = drop.detailed_evaluate(xt, yt, mt).tolist()
    out["average_drop_mean"] = float(drop.evaluate(maps))
    out["increase"] = AverageIncreaseMetric(model, x, y, batch_size=64).detailed_evaluate(xt, yt, mt).tolist()
    infer = drop.batch_inference_function
    out["base"] = np.asarray(infer(model, xt, yt, 64)).tolist()
    out["masked"] = np.asarray(infer(model, AverageDropMetric._perturb_with_mask(xt, mt), yt, 64)).tolist()
    with open(os.path.join(work, "xplique.json"), "w") as f:
        json.dump(out, f)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    model = keras.models.load_model(os.path.join(sys.argv[1], "model.keras"))
    for work in sys.argv[3:]:
        evaluate(model, work, int(sys.argv[2]))


if __name__ == "__main__":
    main()
