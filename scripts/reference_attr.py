"""References for the attribution and perturbation methods of issue 15, in Python.

Written from the papers, Xplique 2.0.2's and torch-cam's definitions (torch
is not installed here: torch-cam's formulas as its source defines them) with the fixture's
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

  sscam           torch-cam's SSCAM, 4 samples, σ = 2: w = softmax_k of the mean
                  over s of y((M_k + 2·δ_sk) ⊙ x) − y(x), δ =
                  StatelessRandomNormal([4,K,1,H,W], (SEED, 6)), M_k Score-CAM's
                  mask (upsampled, then min–max), ReLU(Σ_k w_k A_k) upsampled
  iscam           torch-cam's ISCAM, 5 samples: the same with a_s·M_k, a_s =
                  Σ_{p≤s} p/5, instead of the noisy masks

  gradient-shap   Captum's GradientShap, 5 draws: mean of (x − x′)·dy/dx at
                  x′ + α(x − x′), x′ uniform noise over the image's range
                  (seed (SEED, 7)), α uniform (SEED, 9); summed over channels
  gradient-shap-zero  the same, 8 draws, x′ = 0, the input with Gaussian noise
                  σ = 0.1·(max − min) (seed (SEED, 8))

squaregrad, vargrad and gradient-shap are input gradients through every ReLU and
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
import json  # noqa: E402
from cam_common import layer_view, normalise, linear_head, reference_view, upsample, with_kinks  # noqa: E402


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


def channel_masks(a, size):
    """Score-CAM's masks of each channel of a [h,w,K]: upsampled (bilinear,
    half-pixel), min–max scaled per channel: [K,H,W]."""
    up = upsample(np.transpose(a, (2, 0, 1)), size)
    lo, hi = up.min(axis=(1, 2), keepdims=True), up.max(axis=(1, 2), keepdims=True)
    return np.where(hi > lo, (up - lo) / np.where(hi > lo, hi - lo, 1), 0)


def softmax_cam(lin, x, t, a, perturbed_masks):
    """torch-cam's Score-CAM family: for image i, w = softmax over channels of
    the mean over the S perturbed masks [S,K,H,W] of y_t(mask ⊙ x) − y_t(x);
    the ReLU'd CAM Σ_k w_k A_k upsampled to the input."""
    n, size = len(x), x.shape[1:3]
    cams = []
    for i in range(n):
        pm = perturbed_masks(i)
        s_, k = pm.shape[:2]
        imgs = (pm[..., None] * x[i][None, None]).reshape((-1,) + x.shape[1:])
        y = scores(lin, imgs, np.full(len(imgs), t[i])).reshape(s_, k) - scores(lin, x[i:i + 1], t[i:i + 1])[0]
        z = y.mean(0)
        w = np.exp(z - z.max())
        w /= w.sum()
        cams.append(np.maximum(np.einsum("hwk,k->hw", a[i], w), 0))
    return upsample(np.stack(cams), size)


def references(d, meta, lin, seed):
    x = np.load(os.path.join(d, "inputs.npy"))
    t = np.load(os.path.join(d, "targets.npy"))
    a = layer_view(np.load(os.path.join(d, "layer.npy")).astype(np.float64), meta)
    size = x.shape[1:3]
    res = {}
    k = a.shape[-1]
    # SS-CAM, 4 samples, σ = 2: noise StatelessRandomNormal([4,K,1,H,W], (SEED, 6)).
    delta = tf.raw_ops.StatelessRandomNormal(shape=[4, k, 1] + list(size), seed=tf.constant([seed, 6], tf.int64), dtype=tf.float32).numpy()
    masks = [channel_masks(a[i], size) for i in range(len(x))]
    res["sscam"] = normalise(softmax_cam(lin, x, t, a, lambda i: masks[i][None] + 2.0 * delta[:, :, 0].astype(np.float64)))
    # IS-CAM, 5 samples: torch-cam's cumulative scales Σ_{p≤s} p/5.
    scales = np.cumsum(np.arange(1, 6) / 5.0)
    res["iscam"] = normalise(softmax_cam(lin, x, t, a, lambda i: scales[:, None, None, None] * masks[i][None]))

    def square_and_var():  # one set of noisy gradients for both
        g = noisy_gradients(lin, x, t, seed)
        return np.stack([normalise((g ** 2).mean(0).mean(-1)), normalise(g.var(0, ddof=1).mean(-1))])

    def gradient_shap(samples, noise, zero):
        """Captum's GradientShap: mean over draws j of (x̃_j − x′_j)·dy/dx at
        x′_j + α_j(x̃_j − x′_j), summed over channels; x′_j uniform over the
        image's range (StatelessRandomUniform([S,1,H,W,C], (SEED, 7))) or 0,
        x̃_j = x + noise·(max − min)·ε_j (ε: (SEED, 8)), α_j: (SEED, 9)."""
        shape = [samples, 1] + list(x.shape[1:])
        lo = x.min(axis=(1, 2, 3), keepdims=True).astype(np.float64)
        hi = x.max(axis=(1, 2, 3), keepdims=True).astype(np.float64)
        u = tf.raw_ops.StatelessRandomUniform(shape=shape, seed=tf.constant([seed, 7], tf.int64), dtype=tf.float32).numpy()
        base = np.zeros((samples,) + x.shape) if zero else lo[None] + u * (hi - lo)[None]
        eps = tf.raw_ops.StatelessRandomNormal(shape=shape, seed=tf.constant([seed, 8], tf.int64), dtype=tf.float32).numpy()
        noisy = x[None] + noise * (hi - lo)[None] * eps
        alpha = tf.raw_ops.StatelessRandomUniform(shape=[samples, 1, 1, 1, 1], seed=tf.constant([seed, 9], tf.int64), dtype=tf.float32).numpy()
        diff = noisy - base
        points = (base + alpha * diff).reshape((-1,) + x.shape[1:])
        g = input_grads(lin, points, np.tile(t, samples)).reshape(diff.shape)
        return normalise((diff * g).mean(0).sum(-1))

    res["gradient-shap"], res["gradient-shap.kinks"] = with_kinks(lambda: gradient_shap(5, 0.0, False), lin.weights)
    res["gradient-shap-zero"], res["gradient-shap-zero.kinks"] = with_kinks(lambda: gradient_shap(8, 0.1, True), lin.weights)
    both, kinks = with_kinks(square_and_var, lin.weights)
    res["squaregrad"], res["squaregrad.kinks"] = both[0], kinks[:, 0]
    res["vargrad"], res["vargrad.kinks"] = both[1], kinks[:, 1]
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
            res = references(d, json.load(open(os.path.join(d, "meta.json"))), lin, seed)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for k, v in res.items():
            np.save(os.path.join(out, name, k + ".npy"), np.asarray(v, np.float32))


if __name__ == "__main__":
    main()
