"""References for Group-CAM, Cluster-CAM and Cosine-CAM, in Python.

Written from the definitions in tfcam's doc comments (explainer/groupcam.go,
clustercam.go, cosinecam.go), independently of tfcam's graph: float64 numpy
on the activations and gradients the fixture build computed with
tf.GradientTape (layer.npy, grad_layer.npy), the fixture's Keras model
(model.keras) for the masked forward passes, numpy for the blur, the
percentile, the median and k-means; only the bilinear upsampling uses
TensorFlow (tf.image.resize, half-pixel centres, as tfcam).

  groupcam    official Group-CAM (32 groups of consecutive channels, 70th
              percentile de-noising, blurred baseline, softmax gain)
  clustercam  k-means (farthest-point init from channel 0, 10 Lloyd steps)
              of the min–max scaled channel maps into 10 clusters; cluster
              masks scored by the softmax probability of x·M;
              ŝ_b·M_b − (1 − ŝ_b)·M_q with ŝ = s/‖s‖
  cosinecam   spectral clustering (scikit-learn's nearest_neighbors
              affinity: 10-NN connectivity including self, symmetrised;
              normalised Laplacian from scipy.sparse.csgraph with the
              diagonal ignored; numpy eigh; rows / √degree; then the k-means
              above) of the L2-normalised centred Grad-CAM channel maps into
              the number of groups of the k-means elbow over 3…⌈log₂K⌉+1
              (inertias of the k-means above, elbow by the real kneed 0.8.5
              KneeLocator, convex/decreasing; ⌈log₂K⌉+2 without one); logit
              gain over the blurred image, L2 normalised; Σ ĝ G − lower
              median. The chosen counts go to cosinecam_groups.npy.

Maps are ReLU'd and min–max normalised with eps 1e-7 at input resolution.

Usage: python scripts/reference_groupcam.py OUT_DIR FIXTURE_DIR [FIXTURE_DIR ...]
       python scripts/reference_groupcam.py --kneed CURVES.npy OUT.npy [CURVES.npy OUT.npy ...]
(the second form: kneed's elbow of each row y of CURVES [C,M] over x = 3…M+2,
-1 where there is none, for the test of tfcam's in-graph kneedle)
"""

import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import warnings

import numpy as np
import tensorflow as tf
import keras
from kneed import KneeLocator
from scipy.sparse.csgraph import laplacian
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import normalise, upsample, linear_head, EPS  # noqa: E402


def rescale(m):
    """Min–max scale each [H,W] map of m [J,H,W]; flat maps become 0."""
    lo = m.min(axis=(1, 2), keepdims=True)
    hi = m.max(axis=(1, 2), keepdims=True)
    return np.where(hi > lo, (m - lo) / np.where(hi > lo, hi - lo, 1), 0)


def blur(x, radius, sigma):
    """Separable Gaussian blur of x [N,H,W,C], 2·radius+1 taps, reflect padding."""
    radius = min(radius, min(x.shape[1], x.shape[2]) - 1)
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-d * d / (2 * sigma * sigma))
    k /= k.sum()
    p = np.pad(x.astype(np.float64), ((0, 0), (radius, radius), (0, 0), (0, 0)), mode="reflect")
    y = sum(k[i] * p[:, i:i + x.shape[1]] for i in range(len(k)))
    p = np.pad(y, ((0, 0), (0, 0), (radius, radius), (0, 0)), mode="reflect")
    return sum(k[i] * p[:, :, i:i + x.shape[2]] for i in range(len(k)))


def kmeans(x, n, iters, inertia=False):
    """Farthest-point init from row 0, then Lloyd steps; labels of the rows of x [P,D]
    (and, with inertia, the sum of squared distances to the nearest final centre)."""
    d2 = lambda c: ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)  # [P,J]
    centres = x[:1].copy()
    nearest = d2(centres)[:, 0]
    for _ in range(1, n):
        nxt = x[int(np.argmax(nearest))][None]
        centres = np.concatenate([centres, nxt])
        nearest = np.minimum(nearest, d2(nxt)[:, 0])
    for _ in range(iters):
        lab = np.argmin(d2(centres), axis=1)
        for j in range(n):
            if (lab == j).any():
                centres[j] = x[lab == j].mean(0)
    d = d2(centres)
    if inertia:
        return np.argmin(d, axis=1), d.min(axis=1).sum()
    return np.argmin(d, axis=1)


def spectral_embedding(x, cols, neighbours=10):
    """sklearn's SpectralClustering(affinity="nearest_neighbors") embedding of the rows of x."""
    k = len(x)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    near = np.argsort(d, axis=1, kind="stable")[:, :min(neighbours, k)]
    conn = np.zeros((k, k))
    np.put_along_axis(conn, near, 1.0, axis=1)
    lap, dd = laplacian(0.5 * (conn + conn.T), normed=True, return_diag=True)
    _, vec = np.linalg.eigh(lap)
    return vec[:, :cols] / dd[:, None]


def elbow_groups(feats, iters):
    """tetutaro's _estimate_n_groups with the k-means above."""
    max_groups = int(np.ceil(np.log2(len(feats)))) + 2
    if max_groups < 5:
        return min(3, len(feats))
    cands = list(range(3, max_groups))
    inertias = [kmeans(feats, n, iters, inertia=True)[1] for n in cands]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = KneeLocator(x=cands, y=inertias, curve="convex", direction="decreasing")
    return max_groups if knee.elbow is None else int(knee.elbow)


def members_mean(x, lab, n):
    return np.stack([x[lab == j].mean(0) if (lab == j).any() else np.zeros(x.shape[1]) for j in range(n)])


def run(model, images, c):
    return model(tf.constant(np.asarray(images, np.float32)), training=False).numpy()[:, c].astype(np.float64)


def groupcam(model, x, a, g, c, groups=32):
    size = x.shape[:2]
    k = a.shape[-1]
    chunk = math.ceil(k / groups)
    wa = a * g.mean(axis=(0, 1))
    scale = max(size) / 224
    xb = blur(x[None], max(int(round((51 * scale - 1) / 2)), 1), 50 * scale)[0]
    masks = []
    for s in range(0, k, chunk):
        m = np.maximum(wa[..., s:s + chunk].sum(-1), 0)
        m = np.where(m > np.percentile(m, 70), m, 0)
        masks.append(m)
    masks = rescale(upsample(np.stack(masks), size))  # [G,H,W]
    masked = x[None] * masks[..., None] + xb[None] * (1 - masks[..., None])
    p = run(model, np.concatenate([masked, xb[None]]), c)
    return np.einsum("j,jhw->hw", p[:-1] - p[-1], masks)


def clustercam(model, x, a, c, n=10, iters=10):
    size = x.shape[:2]
    h, w, k = a.shape
    n = min(n, k)
    rows = a.reshape(h * w, k).T  # [K,hw]
    lo, hi = rows.min(1, keepdims=True), rows.max(1, keepdims=True)
    feats = np.where(hi > lo, (rows - lo) / np.where(hi > lo, hi - lo, 1), 0)
    centres = members_mean(feats, kmeans(feats, n, iters), n)
    masks = rescale(upsample(centres.reshape(n, h, w), size))
    s = run(model, x[None] * masks[..., None], c)
    s = s / np.linalg.norm(s)
    b, q = int(np.argmax(s)), int(np.argmin(s))
    wt = np.zeros(n)
    wt[b] += s[b]
    wt[q] -= 1 - s[b]
    return np.einsum("j,jhw->hw", wt, masks)


def cosinecam(lin, x, a, g, c, iters=10):
    size = x.shape[:2]
    h, w, k = a.shape
    rows = (a * g.mean(axis=(0, 1))).reshape(h * w, k).T  # [K,hw]
    centred = rows - rows.mean()
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    feats = np.where(norm > 0, centred / np.where(norm > 0, norm, 1), 0)
    n = elbow_groups(feats, iters)
    lab = kmeans(spectral_embedding(feats, n), n, iters)
    groups = upsample(members_mean(rows, lab, n).reshape(n, h, w), size)
    valid = groups.max(axis=(1, 2)) > groups.min(axis=(1, 2))
    masks = rescale(groups)
    sigma = 51 * max(size) / 224
    xb = blur(x[None], int(3 * sigma + 0.5), sigma)[0]
    masked = x[None] * masks[..., None] + xb[None] * (1 - masks[..., None])
    y = run(lin, np.concatenate([masked, xb[None]]), c)
    gain = (y[:-1] - y[-1]) * valid
    gain = gain / np.linalg.norm(gain)
    total = np.einsum("j,jhw->hw", gain, groups)
    flat = np.sort(total.ravel())
    return total - flat[(len(flat) - 1) // 2], n


def kneed_elbows(src, dst):
    curves = np.load(src).astype(np.float64)
    x = list(range(3, curves.shape[1] + 3))
    res = []
    for y in curves:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            knee = KneeLocator(x=x, y=list(y), curve="convex", direction="decreasing")
        res.append(-1 if knee.elbow is None else knee.elbow)
    np.save(dst, np.array(res, np.float32))


def main():
    if sys.argv[1] == "--kneed":
        for src, dst in zip(sys.argv[2::2], sys.argv[3::2]):
            kneed_elbows(src, dst)
        return
    out = sys.argv[1]
    for d in sys.argv[2:]:
        if not os.path.exists(os.path.join(d, "model.keras")):
            continue
        name = os.path.basename(os.path.normpath(d))
        model = keras.models.load_model(os.path.join(d, "model.keras"))
        lin = linear_head(model)
        x = np.load(os.path.join(d, "inputs.npy")).astype(np.float64)
        t = np.load(os.path.join(d, "targets.npy"))
        a = np.load(os.path.join(d, "layer.npy")).astype(np.float64)
        g = np.load(os.path.join(d, "grad_layer.npy")).astype(np.float64)
        res = {"groupcam": [], "clustercam": [], "cosinecam": []}
        counts = []
        for i in range(len(x)):
            res["groupcam"].append(groupcam(model, x[i], a[i], g[i], t[i]))
            res["clustercam"].append(clustercam(model, x[i], a[i], t[i]))
            cos, n = cosinecam(lin, x[i], a[i], g[i], t[i])
            res["cosinecam"].append(cos)
            counts.append(n)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        np.save(os.path.join(out, name, "cosinecam_groups.npy"), np.array(counts, np.float32))
        for key, v in res.items():
            np.save(os.path.join(out, name, key + ".npy"), normalise(np.maximum(np.stack(v), 0)).astype(np.float32))


if __name__ == "__main__":
    main()
