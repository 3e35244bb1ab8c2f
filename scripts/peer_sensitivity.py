"""Third-party reference for max-sensitivity: Quantus 0.5.3's MaxSensitivity
with an independent Grad-CAM (tf.GradientTape on the Keras model's logits,
the paper's formula in numpy, tfcam's bilinear upsampling and min–max
normalisation from cam_common), fed the perturbed images tfcam used.

Given a fixture directory with model.keras and meta.json (default_layer)
and a work directory holding

  inputs.npy     float32 [N,H,W,C] images
  targets.npy    explained class per image [N]
  perturbed.npy  float32 [S,N,H,W,C]: the images tfcam explained at each of
                 S samples

writes WORK/quantus.json {"max_sensitivity": [N values]}: MaxSensitivity(
nr_samples=S, perturb_func returning the recorded images in Quantus' call
order (sample by sample, image by image), normalise=False, abs=False,
difference and Frobenius norms), a_batch computed by the same explain_func.

Usage: python scripts/peer_sensitivity.py FIXTURE_DIR WORK_DIR
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
import quantus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import linear_head, normalise, upsample  # noqa: E402


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fixture, work = sys.argv[1:]
    model = keras.models.load_model(os.path.join(fixture, "model.keras"))
    with open(os.path.join(fixture, "meta.json")) as f:
        layer = json.load(f)["default_layer"]
    head = linear_head(model)
    cut = keras.Model(head.inputs, [head.get_layer(layer).output, head.output])
    x = np.load(os.path.join(work, "inputs.npy")).astype(np.float32)
    targets = np.load(os.path.join(work, "targets.npy")).astype(np.int64)
    perturbed = np.load(os.path.join(work, "perturbed.npy")).astype(np.float32)
    n, h, w, c = x.shape

    def gradcam(model, inputs, targets, **kwargs):
        inputs = np.asarray(inputs, np.float32)
        if inputs.shape[1] == c and inputs.shape[-1] != c:  # channels first
            inputs = np.transpose(inputs, (0, 2, 3, 1))
        xt = tf.constant(inputs)
        with tf.GradientTape() as tape:
            a, logits = cut(xt)
            score = tf.reduce_sum(tf.gather(logits, np.asarray(targets).astype(np.int32), axis=1, batch_dims=1))
        g = tape.gradient(score, a).numpy().astype(np.float64)
        a = a.numpy().astype(np.float64)
        cam = np.maximum((g.mean(axis=(1, 2))[:, None, None, :] * a).sum(-1), 0)
        return normalise(upsample(cam, (h, w))).astype(np.float32)

    calls = iter([perturbed[s, i] for s in range(perturbed.shape[0]) for i in range(n)])

    def recorded(arr, **kwargs):
        nxt = next(calls)
        if arr.shape[0] == c and arr.shape[-1] != c:  # Quantus hands images channels first
            nxt = np.transpose(nxt, (2, 0, 1))
        return nxt

    metric = quantus.MaxSensitivity(nr_samples=perturbed.shape[0], perturb_func=recorded, normalise=False, abs=False,
                                    disable_warnings=True, display_progressbar=False)
    scores = metric(model=model, x_batch=x, y_batch=targets, a_batch=None, explain_func=gradcam, channel_first=False,
                    batch_size=n)
    with open(os.path.join(work, "quantus.json"), "w") as f:
        json.dump({"max_sensitivity": [float(v) for v in scores]}, f)


if __name__ == "__main__":
    main()
