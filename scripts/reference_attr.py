"""References for the attribution and perturbation methods of issue 15, in Python.

Written from the papers and Xplique 2.0.2's definitions with the fixture's
Keras model (model.keras, its linear-head twin: scores are logits, as
tfcam's) and tf.GradientTape, independently of tfcam's graph. Each takes
the same random draws as tfcam: TensorFlow's stateless random ops with
tfcam's seeds and shapes (the same kernel gives the same numbers):

  squaregrad      mean_c mean_j (dy/dx_c)² at x + σ·ε_j, ε_j =
                  StatelessRandomNormal([16,1,H,W,C], seed (SEED, 1)), σ =
                  0.15·(max − min) of each image (SmoothGrad's noise)
  vargrad         mean_c of the unbiased variance over j of the same gradients
  occlusion       Σ_p (y(x) − y(x, patch p set to 0))·1[pixel in p], 3-px
                  patches, stride 3 (Xplique's defaults)
  occlusion-8-4   the same with 8-px patches, stride 4, value 0.5
  rise            128 masks: cells = StatelessRandomUniform([128,7,7,1],
                  (SEED, 4)) < 0.5, bilinear upsampling to ⌊n(1 + 1/7)⌋ per
                  side, crop at ⌊u·(n' − n + 1)⌋, u = StatelessRandomUniform
                  ([128,2], (SEED, 5)); Σ_j y(x ⊙ M_j)·M_j / Σ_j M_j
  rise-expected   64 masks on a 5×5 grid kept with p = 0.3, value 0.25,
                  Σ_j y(x ⊙ M_j + 0.25·(1 − M_j))·M_j / (64·0.3) (the paper's)

squaregrad and vargrad are input gradients through every ReLU and
max-pool kink: also written on the kink variants of the weights
(cam_common.py) as <method>.kinks.npy. Maps are min–max normalised with
eps 1e-7, at input resolution, signed where tfcam's are (occlusion, rise).

Usage: python scripts/reference_attr.py OUT_DIR SEED FIXTURE_DIR [FIXTURE_DIR ...]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import normalise, linear_head, reference_view, with_kinks  # noqa: E402


def scores(lin, x, t):
    """The explained logit of each image x[i] for class t[i], in float64."""
    out = []
    for b in range(0, len(x), 256):
        out.append(lin(tf.constant(x[b:b + 256], tf.float32), training=False).numpy().astype(np.float64))
    s = np.concatenate(out)
    return s[np.arange(len(x)), t]


def input_grads(lin, x, t):
    xt = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(tf.gather(lin(xt, training=False), t, batch_dims=1))
    return tape.gradient(s, xt).numpy().astype(np.float64)


def noisy_gradients(lin, x, t, seed, samples=16, noise=0.15):
    """Input gradients [samples, N, H, W, C] at SmoothGrad's noisy copies."""
    eps = tf.raw_ops.StatelessRandomNormal(shape=(samples, 1) + x.shape[1:], seed=tf.constant([seed, 1], tf.int64), dtype=tf.float32).numpy()
    span = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))).astype(np.float32)
    sigma = (span * np.float32(noise))[None, :, None, None, None]
    noisy = (x[None] + eps * sigma).reshape((-1,) + x.shape[1:])
    return input_grads(lin, noisy, np.tile(t, samples)).reshape((samples,) + x.shape)


def occlusion(lin, x, t, size, stride, value):
    n, h, w, _ = x.shape
    base = scores(lin, x, t)
    out = np.zeros((n, h, w))
    for i in range(n):
        patches, occluded = [], []
        for r in range(0, h - size + 1, stride):
            for q in range(0, w - size + 1, stride):
                m = np.zeros((h, w))
                m[r:r + size, q:q + size] = 1
                patches.append(m)
                occluded.append(x[i] * (1 - m[..., None]) + value * m[..., None])
        s = scores(lin, np.stack(occluded), np.full(len(occluded), t[i]))
        out[i] = np.einsum("p,phw->hw", base[i] - s, np.stack(patches))
    return out


def rise_masks(seed, samples, grid, keep, h, w):
    """The masks [samples, h, w]: cells kept with probability keep, upsampled
    as Xplique's Rise (tf.image.resize, bilinear) and cropped at the drawn
    offsets."""
    cells = tf.raw_ops.StatelessRandomUniform(shape=[samples, grid, grid, 1], seed=tf.constant([seed, 4], tf.int64), dtype=tf.float32)
    grids = tf.cast(cells < keep, tf.float32)
    uh, uw = int(h * (1.0 + 1.0 / grid)), int(w * (1.0 + 1.0 / grid))
    up = tf.image.resize(grids, (uh, uw)).numpy()[..., 0]
    u = tf.raw_ops.StatelessRandomUniform(shape=[samples, 2], seed=tf.constant([seed, 5], tf.int64), dtype=tf.float32).numpy()
    off = np.floor(u * np.array([uh - h + 1, uw - w + 1], np.float32)).astype(int)
    return np.stack([up[j, off[j, 0]:off[j, 0] + h, off[j, 1]:off[j, 1] + w] for j in range(samples)]).astype(np.float64)


def rise(lin, x, t, seed, samples, grid, keep, value, expected):
    n, h, w, _ = x.shape
    masks = rise_masks(seed, samples, grid, keep, h, w)
    out = np.zeros((n, h, w))
    for i in range(n):
        perturbed = x[i][None] * masks[..., None] + value * (1 - masks[..., None])
        s = scores(lin, perturbed, np.full(samples, t[i]))
        num = np.einsum("j,jhw->hw", s, masks)
        out[i] = num / (samples * keep) if expected else num / masks.sum(0)
    return out


def references(d, lin, seed):
    x = np.load(os.path.join(d, "inputs.npy"))
    t = np.load(os.path.join(d, "targets.npy"))
    res = {}

    def squaregrad():
        return normalise((noisy_gradients(lin, x, t, seed) ** 2).mean(0).mean(-1))

    def vargrad():
        return normalise(noisy_gradients(lin, x, t, seed).var(0, ddof=1).mean(-1))

    res["squaregrad"], res["squaregrad.kinks"] = with_kinks(squaregrad, lin.weights)
    res["vargrad"], res["vargrad.kinks"] = with_kinks(vargrad, lin.weights)
    res["occlusion"] = normalise(occlusion(lin, x, t, 3, 3, 0.0))
    res["occlusion-8-4"] = normalise(occlusion(lin, x, t, 8, 4, 0.5))
    res["rise"] = normalise(rise(lin, x, t, seed, 128, 7, 0.5, 0.0, False))
    res["rise-expected"] = normalise(rise(lin, x, t, seed, 64, 5, 0.3, 0.25, True))
    return res


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    out, seed = sys.argv[1], int(sys.argv[2])
    for d in sys.argv[3:]:
        name = os.path.basename(os.path.normpath(d))
        model = keras.models.load_model(os.path.join(d, "model.keras"))
        lin = linear_head(model)
        with reference_view(lin.weights):
            res = references(d, lin, seed)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for k, v in res.items():
            np.save(os.path.join(out, name, k + ".npy"), np.asarray(v, np.float32))


if __name__ == "__main__":
    main()
