"""Third-party reference for tfcam's sanity checks: Quantus 0.5.3's MPRT
(model-parameter randomisation, layer_order="top_down") and RandomLogit,
with an independent Grad-CAM (tf.GradientTape on the Keras model's logits,
the paper's formula in numpy, tfcam's bilinear upsampling from cam_common;
the raw map, not min–max scaled, as tfcam compares raw maps), given the
randomised weights and random classes tfcam used.

Quantus randomises a TensorFlow model by np.random.permutation of each
weight of each layer with weights, top layer first; this script makes that
call return tfcam's permuted value of the same weight (found by its
original value), so both cascades run the same models. Quantus' clone of
the model gets the trained weights (keras.models.clone_model initialises
new ones: without this its cascade would start from a re-initialised
model). RandomLogit draws
its class with np.random.choice; that call returns tfcam's class.

Given a fixture directory with model.keras and meta.json (default_layer)
and a work directory holding

  inputs.npy   float32 [N,H,W,C] images
  targets.npy  explained class per image [N]
  others.npy   tfcam's random other class per image [N]
  vars.txt     "<layer>/<weight>\t<file>.npy" per weight: tfcam's permuted value

writes WORK/quantus.json: {"layers": Quantus' cascade order, "spearman":
{layer: [N]} (null where scipy gives NaN; MPRT, correlation_spearman, abs=True, normalise=True),
"ssim": {layer: [N]} (MPRT with similarity_func=ssim), "logit_ssim": [N]
(RandomLogit defaults: ssim, abs=False, normalise=True)}; maps normalised by their own maximum (PER_MAP),
as tfcam does. A map that is all zeros becomes NaN there (0/0), and so do
its scores.

Usage: python scripts/peer_sanity.py FIXTURE_DIR WORK_DIR
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
import quantus.helpers.model.tf_model as qtf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import linear_head, upsample  # noqa: E402


# normalise_by_max over each map's axes: by default Quantus divides a batch
# of maps [N,1,H,W] by the batch's maximum, so a map's SSIM would depend on
# the other images in its batch; tfcam divides each map by its own maximum.
PER_MAP = {"normalise_axes": [1, 2, 3]}


def num(v):
    """v as JSON: null for NaN (scipy's Spearman of a constant map)."""
    return None if np.isnan(v) else float(v)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fixture, work = sys.argv[1:]
    model = keras.models.load_model(os.path.join(fixture, "model.keras"))
    with open(os.path.join(fixture, "meta.json")) as f:
        layer = json.load(f)["default_layer"]
    x = np.load(os.path.join(work, "inputs.npy")).astype(np.float32)
    targets = np.load(os.path.join(work, "targets.npy")).astype(np.int64)
    others = np.load(os.path.join(work, "others.npy")).astype(np.int64)
    n, h, w, c = x.shape
    by_path = {v.path: v for v in model.weights}
    swaps = []  # (original value, tfcam's permuted value)
    with open(os.path.join(work, "vars.txt")) as f:
        for line in f:
            if line.strip():
                path, file = line.rstrip("\n").split("\t")
                swaps.append((by_path[path].numpy(), np.load(os.path.join(work, file))))
    if len(swaps) != len(model.weights):
        raise SystemExit(f"tfcam permuted {len(swaps)} weights; the model has {len(model.weights)}")

    def permutation(a):
        hits = [new for old, new in swaps if old.shape == a.shape and np.array_equal(old, a)]
        if not hits or any(not np.array_equal(hits[0], h) for h in hits):
            raise SystemExit(f"no unique tfcam weight with the value of a {a.shape} weight")
        return hits[0].copy()

    np.random.permutation = permutation
    # Quantus clones the model with keras.models.clone_model, which builds
    # fresh layers with newly initialised weights, so its own cascade would
    # start from a re-initialised model rather than the trained one: the
    # clone gets the model's weights here.
    clone = qtf.clone_model

    def clone_with_weights(m):
        twin = clone(m)
        twin.set_weights(m.get_weights())
        return twin

    qtf.clone_model = clone_with_weights

    def gradcam(model, inputs, targets, **kwargs):
        inputs = np.asarray(inputs, np.float32)
        if inputs.shape[1] == c and inputs.shape[-1] != c:  # channels first
            inputs = np.transpose(inputs, (0, 2, 3, 1))
        head = linear_head(model)
        cut = keras.Model(head.inputs, [head.get_layer(layer).output, head.output])
        with tf.GradientTape() as tape:
            a, logits = cut(tf.constant(inputs))
            score = tf.reduce_sum(tf.gather(logits, np.asarray(targets).astype(np.int32).reshape(-1), axis=1, batch_dims=1))
        g = tape.gradient(score, a).numpy().astype(np.float64)
        a = a.numpy().astype(np.float64)
        cam = np.maximum((g.mean(axis=(1, 2))[:, None, None, :] * a).sum(-1), 0)
        return upsample(cam, (h, w)).astype(np.float32)

    out = {}
    for key, sim in [("spearman", quantus.similarity_func.correlation_spearman), ("ssim", quantus.similarity_func.ssim)]:
        metric = quantus.MPRT(similarity_func=sim, layer_order="top_down", abs=True, normalise=True,
                              normalise_func_kwargs=PER_MAP, disable_warnings=True, display_progressbar=False)
        scores = metric(model=model, x_batch=x, y_batch=targets, a_batch=None, explain_func=gradcam,
                        channel_first=False, batch_size=n)
        out["layers"] = [k for k in scores if k != "original"]
        out[key] = {k: [num(v) for v in vs] for k, vs in scores.items()}

    calls = iter(others)
    np.random.choice = lambda *args, **kwargs: next(calls)
    metric = quantus.RandomLogit(num_classes=int(model.output.shape[-1]), normalise_func_kwargs=PER_MAP,
                                 disable_warnings=True, display_progressbar=False)
    scores = metric(model=model, x_batch=x, y_batch=targets, a_batch=None, explain_func=gradcam,
                    channel_first=False, batch_size=n)
    out["logit_ssim"] = [num(v) for v in scores]
    with open(os.path.join(work, "quantus.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
