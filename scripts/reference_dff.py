"""Reference for DeepFeatureFactorization (tfcam's dff), in numpy.

pytorch-grad-cam's deep_feature_factorization.py, with batch size 1 and the
multiplicative-update solver, written again in float64 independently of
tfcam's graph. Per image of the fixture (the target layer's activations
A from layer.npy, as an array of K channels × P = h·w positions):

  X = A − min over the positions, per channel
  W0 = s·|z_W| [K×n], H0 = s·|z_H| [n×P], s = √(mean(X)/n)  (scikit-learn's
       init='random'), z TensorFlow's stateless normal draws of those
       shapes from seeds (SEED, 21) and (SEED, 22): tfcam's documented start
  ITERATIONS times:  W ← W ⊙ X·Hᵀ / (W·H·Hᵀ),  H ← H ⊙ Wᵀ·X / (Wᵀ·W·H),
       a denominator exactly 0 replaced by float32's epsilon (scikit-learn)
  concepts = W + min (per channel), maps = the rows of H

and cross-checked against scikit-learn's NMF(solver='mu',
beta_loss='frobenius', init='custom', tol=0, max_iter=ITERATIONS) from the
same W0, H0: the largest difference of the normalised maps goes to
<fixture>/dff.sklearn.json ({"max_abs": d}).

Labels, for the fixtures with model.keras whose target layer is spatial:
the layers after the target layer of the Keras model with a linear head
(keras.Model(layer.output, output)) on a [h,w,K] map filled with each
concept, softmax: <fixture>/dff.probs.npy [N,n,classes].

Maps are min–max normalised per concept, at the layer's resolution
(dff.low.npy [N,n,h,w]) and upsampled like tfcam (tf.image.resize,
bilinear) before normalising (dff.npy [N,n,H,W]).

Usage: python scripts/reference_dff.py OUT_DIR SEED CONCEPTS ITERATIONS FIXTURE_DIR [FIXTURE_DIR ...]
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
from sklearn.decomposition import NMF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import layer_view, normalise, upsample, linear_head, reference_view  # noqa: E402

EPSILON = np.finfo(np.float32).eps
STREAM_W, STREAM_H = 21, 22


def draw(shape, seed, stream):
    z = tf.raw_ops.StatelessRandomNormal(shape=shape, seed=tf.constant([seed, stream], tf.int64), dtype=tf.float32)
    return np.abs(z.numpy()).astype(np.float64)


def start(x, n, seed):
    s = np.sqrt(x.mean() / n)
    return s * draw([x.shape[0], n], seed, STREAM_W), s * draw([n, x.shape[1]], seed, STREAM_H)


def guarded(d):
    d = d.copy()
    d[d == 0] = EPSILON
    return d


def mu(x, w, h, iterations):
    """Lee–Seung multiplicative updates for ‖X − W·H‖², W first."""
    w, h = w.copy(), h.copy()
    for _ in range(iterations):
        w *= (x @ h.T) / guarded(w @ (h @ h.T))
        h *= (w.T @ x) / guarded((w.T @ w) @ h)
    return w, h


def with_sklearn(x, w, h, iterations):
    model = NMF(n_components=w.shape[1], solver="mu", beta_loss="frobenius", init="custom", tol=0, max_iter=iterations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 runs every iteration
        ws = model.fit_transform(x, W=w.copy(), H=h.copy())
    return ws, model.components_


def main():
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    out_dir, seed, n, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    for d in sys.argv[5:]:
        name = os.path.basename(os.path.normpath(d))
        od = os.path.join(out_dir, name)
        os.makedirs(od, exist_ok=True)
        meta = json.load(open(os.path.join(d, "meta.json")))
        a = layer_view(np.load(os.path.join(d, "layer.npy")).astype(np.float64), meta)
        size = np.load(os.path.join(d, "inputs.npy")).shape[1:3]
        b, lh, lw, k = a.shape
        maps = np.empty((b, n, lh, lw))
        concepts = np.empty((b, n, k))
        worst = 0.0
        for i in range(b):
            x = a[i].reshape(lh * lw, k).T
            offset = x.min(axis=1, keepdims=True)
            x = x - offset
            w0, h0 = start(x, n, seed)
            w, h = mu(x, w0, h0, iterations)
            ws, hs = with_sklearn(x, w0, h0, iterations)
            worst = max(worst, float(np.abs(normalise(h.reshape(n, lh, lw)) - normalise(hs.reshape(n, lh, lw))).max()))
            maps[i] = h.reshape(n, lh, lw)
            concepts[i] = (w + offset).T
        json.dump({"max_abs": worst}, open(os.path.join(od, "dff.sklearn.json"), "w"))
        np.save(os.path.join(od, "dff.low.npy"), normalise(maps.reshape(b * n, lh, lw)).reshape(b, n, lh, lw).astype(np.float32))
        up = normalise(upsample(maps.reshape(b * n, lh, lw), size))
        np.save(os.path.join(od, "dff.npy"), up.reshape(b, n, *size).astype(np.float32))
        if os.path.exists(os.path.join(d, "model.keras")) and not meta.get("tokens"):
            model = keras.models.load_model(os.path.join(d, "model.keras"))
            lin = linear_head(model)
            with reference_view(lin.weights):
                tail = keras.Model(lin.get_layer(meta["default_layer"]).output, lin.output)
                filled = np.broadcast_to(concepts.reshape(b * n, 1, 1, k), (b * n, lh, lw, k)).astype(np.float32)
                logits = np.asarray(tail(filled, training=False), np.float64)
            p = np.exp(logits - logits.max(axis=-1, keepdims=True))
            p /= p.sum(axis=-1, keepdims=True)
            np.save(os.path.join(od, "dff.probs.npy"), p.reshape(b, n, -1).astype(np.float32))


if __name__ == "__main__":
    main()
