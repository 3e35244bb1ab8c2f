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

The methods' discrete choices (percentile cuts, k-means assignments,
nearest neighbours, the elbow, the best and worst cluster) can go either way
under float32 rounding when they are within rounding of a tie. When OUT_DIR/
<fixture>/ holds tfcam's choices (tfcam_<choice>.npy, written by the Go
test), the maps are computed under those, and decisions.json reports, per
method, image and choice, where the reference's own choice differs and the
closest call (relative margin) on its way to it. Each map also comes with
<method>.variants.npy: the same map on the masked and blurred images scaled
by 1 ± ROUND_EPS·u, for the test's rounding envelope.

Usage: python scripts/reference_groupcam.py OUT_DIR FIXTURE_DIR [FIXTURE_DIR ...]
       python scripts/reference_groupcam.py --kneed CURVES.npy OUT.npy [CURVES.npy OUT.npy ...]
(the second form: kneed's elbow of each row y of CURVES [C,M] over x = 3…M+2,
-1 where there is none, for the test of tfcam's in-graph kneedle)
"""

import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import warnings

import numpy as np
import tensorflow as tf
import keras
from kneed import KneeLocator
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import laplacian
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import normalise, upsample, linear_head, reference_view, scaled_weights, EPS  # noqa: E402

# A discrete choice (a k-means assignment, a nearest neighbour, a
# percentile cut, an elbow) whose closest call is within TIE, relative, of
# a tie can go either way under float32 rounding (~1e-6 relative on another
# CPU or oneDNN setting): 10× that.
TIE = 1e-5
# Rows this close (squared distance relative to the largest squared norm)
# are the same point (duplicated dead channels): a farthest-point choice
# between them gives the same centre.
SAME = 1e-12
# The methods' gains are differences of model outputs on the masked and
# blurred images, which tfcam composes in float32 (~6e-8 relative rounding)
# where the reference uses float64, and runs through the model with other
# kernels: the reference also evaluates each map with the images and the
# weights scaled by 1 ± ROUND_EPS·u, 3 pairs, and the test allows their
# spread (an envelope, as internal/fixture/kinks.go). 10× the rounding.
ROUND_EPS = float(os.environ.get("TFCAM_ROUND_EPS", "1e-6"))
ROUND_PAIRS = 3


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
    lab, total, _ = kmeans_fit(x, n, iters)
    return (lab, total) if inertia else lab


def kmeans_fit(x, n, iters):
    """kmeans, also returning the closest call among its discrete decisions:
    the smallest relative margin (best − runner-up)/best of a farthest-point
    choice, or (second − nearest)/second of a point's nearest centre. Not
    counted: a farthest point's near-duplicates (either gives nearly the
    same centre) and a centre's exact duplicates (the same in float32: both
    sides take the lowest index). A margin below ~1e-5 means float32
    rounding can take the other branch."""
    d2 = lambda c: ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)  # [P,J]
    same = lambda u, v: ((u - v) ** 2).sum(-1) <= SAME * (x * x).sum(1).max()
    margin = math.inf
    centres = x[:1].copy()
    nearest = d2(centres)[:, 0]
    for _ in range(1, n):
        best = int(np.argmax(nearest))
        other = nearest[~same(x, x[best])]
        if len(other) and nearest[best] > 0:
            margin = min(margin, (nearest[best] - other.max()) / nearest[best])
        nxt = x[best][None]
        centres = np.concatenate([centres, nxt])
        nearest = np.minimum(nearest, d2(nxt)[:, 0])

    def assign():
        nonlocal margin
        d = d2(centres)
        lab = np.argmin(d, axis=1)
        twin = (centres[lab][:, None, :] == centres[None, :, :]).all(-1)  # [P,J]
        second = np.where(twin, np.inf, d).min(1)
        first = d[np.arange(len(x)), lab]
        ok = np.isfinite(second) & (second > 0)
        if ok.any():
            margin = min(margin, float(((second - first)[ok] / second[ok]).min()))
        return lab, d

    for _ in range(iters):
        lab, _ = assign()
        for j in range(n):
            if (lab == j).any():
                centres[j] = x[lab == j].mean(0)
    lab, d = assign()
    return lab, d.min(axis=1).sum(), margin


def spectral_embedding(x, cols, neighbours=10):
    """sklearn's SpectralClustering(affinity="nearest_neighbors") embedding of the rows of x,
    and the closest call of its discrete decisions (relative margin of the
    last nearest neighbour over the next one, unless the two rows are exact
    duplicates; gap of the eigenvalues at the cut, on [0, 2]). Which of two
    equidistant rows becomes a neighbour changes the graph, and so the
    embedding, even when the two rows are nearly the same."""
    k = len(x)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    order = np.argsort(d, axis=1, kind="stable")
    m = min(neighbours, k)
    near = order[:, :m]
    margin = math.inf
    if m < k:
        for p in range(k):
            inside, outside = order[p, :m], order[p, m:]
            first_out, last_in = outside[0], inside[-1]
            # exact duplicates tie exactly in float32 too: both sides take the lowest index
            a = d[p, inside[~(x[inside] == x[first_out]).all(1)]]
            b = d[p, outside[~(x[outside] == x[last_in]).all(1)]]
            if len(a) and len(b) and b.min() > 0:
                margin = min(margin, float((b.min() - a.max()) / b.min()), float((d[p, first_out] - a.max()) / d[p, first_out]),
                             float((b.min() - d[p, last_in]) / b.min()))
    conn = np.zeros((k, k))
    np.put_along_axis(conn, near, 1.0, axis=1)
    lap, dd = laplacian(0.5 * (conn + conn.T), normed=True, return_diag=True)
    val, vec = np.linalg.eigh(lap)
    if cols < k:
        margin = min(margin, float(val[cols] - val[cols - 1]))
    return vec[:, :cols] / dd[:, None], margin


def kneedle_margin(cands, inertias):
    """The closest call of kneed's convex/decreasing elbow on inertias, in
    units of the largest inertia: the smallest difference between two
    values of the difference curve that it compares (neighbours for the
    local extrema, a later point and a maximum's threshold), times the
    curve's range."""
    y = np.asarray(inertias, np.float64)
    lo, hi = y.min(), y.max()
    if hi <= lo:
        return math.inf
    x = np.asarray(cands, np.float64)
    xn = (x - x[0]) / (x[-1] - x[0])
    dc = 1 - (y - lo) / (hi - lo) - xn
    offset = abs(np.diff(xn).mean())
    gaps = [abs(dc[i] - dc[i + 1]) for i in range(len(dc) - 1)]
    gaps += [abs(dc[i] - (dc[j] - offset)) for j in range(len(dc)) for i in range(j + 1, len(dc))]
    return min(gaps) * (hi - lo) / hi


def elbow_groups(feats, iters):
    """tetutaro's _estimate_n_groups with the k-means above; also the
    closest call of the choice (the k-means runs' and kneed's margins)."""
    max_groups = int(np.ceil(np.log2(len(feats)))) + 2
    if max_groups < 5:
        return min(3, len(feats)), math.inf
    cands = list(range(3, max_groups))
    fits = [kmeans_fit(feats, n, iters) for n in cands]
    inertias = [f[1] for f in fits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = KneeLocator(x=cands, y=inertias, curve="convex", direction="decreasing")
    margin = min([f[2] for f in fits] + [kneedle_margin(cands, inertias)])
    return (max_groups if knee.elbow is None else int(knee.elbow)), margin


def members_mean(x, lab, n):
    return np.stack([x[lab == j].mean(0) if (lab == j).any() else np.zeros(x.shape[1]) for j in range(n)])


def run(model, images, c):
    return model(tf.constant(np.asarray(images, np.float32)), training=False).numpy()[:, c].astype(np.float64)


def rounded(model, images, c, finish):
    """finish(scores of images), and the same for ROUND_PAIRS pairs of
    variants with the images and the model's weights scaled by
    1 ± ROUND_EPS·u (u uniform in [−1, 1] per value): what rounding where
    tfcam composes the masked and blurred images (float32) and in the
    kernels it runs the model with can move the map by."""
    ref = finish(run(model, images, c))
    rng = np.random.default_rng(20251130)
    variants = []
    for j in range(ROUND_PAIRS):
        u = rng.uniform(-1, 1, images.shape)
        for sign in (1, -1):
            with scaled_weights(model.variables, ROUND_EPS, 2000 + j, sign):
                variants.append(finish(run(model, images * (1 + sign * ROUND_EPS * u), c)))
    return ref, variants


def relabelled(own, lab, n):
    """How many rows of the assignment own differ from lab after the best
    one-to-one matching of the clusters: the methods depend on the
    partition, not on the clusters' numbers."""
    hits = np.zeros((n, n))
    np.add.at(hits, (own, lab), 1)
    r, c = linear_sum_assignment(-hits)
    return len(own) - int(hits[r, c].sum())


def decision(what, disagree, margin):
    """One discrete choice of a method on one image, compared with tfcam's:
    how many of its elements differ, the closest call (relative margin, see
    TIE) and whether that explains the difference."""
    margin = min(float(margin), 9.0)  # JSON has no infinity
    return {"what": what, "disagree": int(disagree), "margin": margin, "tie": bool(disagree == 0 or margin <= TIE)}


def groupcam(model, x, a, g, c, keep=None, groups=32):
    """keep [G,h·w]: tfcam's de-noising choice (value above the 70th
    percentile) for each group's mask, used instead of the reference's own;
    the decision's margin is the largest |value − percentile| / max value
    of an element where the two differ."""
    size = x.shape[:2]
    k = a.shape[-1]
    chunk = math.ceil(k / groups)
    wa = a * g.mean(axis=(0, 1))
    scale = max(size) / 224
    xb = blur(x[None], max(int(round((51 * scale - 1) / 2)), 1), 50 * scale)[0]
    masks = []
    disagree, worst = 0, 0.0
    for j, s in enumerate(range(0, k, chunk)):
        m = np.maximum(wa[..., s:s + chunk].sum(-1), 0)
        thr = np.percentile(m, 70)
        own = m > thr
        use = own if keep is None else keep[j].reshape(m.shape) > 0.5
        diff = own != use
        if diff.any():
            disagree += int(diff.sum())
            worst = max(worst, float(np.abs(m - thr)[diff].max() / max(m.max(), 1e-30)))
        masks.append(np.where(use, m, 0))
    masks = rescale(upsample(np.stack(masks), size))  # [G,H,W]
    masked = x[None] * masks[..., None] + xb[None] * (1 - masks[..., None])
    ref, variants = rounded(model, np.concatenate([masked, xb[None]]), c,
                            lambda p: np.einsum("j,jhw->hw", p[:-1] - p[-1], masks))
    return ref, variants, [decision("percentile", disagree, worst)]


def clustercam(model, x, a, c, labels=None, best=None, worst=None, n=10, iters=10):
    """labels [K], best, worst: tfcam's k-means assignment and its best and
    worst cluster, used instead of the reference's own."""
    size = x.shape[:2]
    h, w, k = a.shape
    n = min(n, k)
    rows = a.reshape(h * w, k).T  # [K,hw]
    lo, hi = rows.min(1, keepdims=True), rows.max(1, keepdims=True)
    feats = np.where(hi > lo, (rows - lo) / np.where(hi > lo, hi - lo, 1), 0)
    own, _, margin = kmeans_fit(feats, n, iters)
    lab = own if labels is None else labels.astype(int)
    centres = members_mean(feats, lab, n)
    masks = rescale(upsample(centres.reshape(n, h, w), size))
    s = run(model, x[None] * masks[..., None], c)
    s = s / np.linalg.norm(s)
    ob, oq = int(np.argmax(s)), int(np.argmin(s))
    b = ob if best is None else int(best)
    q = oq if worst is None else int(worst)

    def finish(s):
        s = s / np.linalg.norm(s)
        wt = np.zeros(n)
        wt[b] += s[b]
        wt[q] -= 1 - s[b]
        return np.einsum("j,jhw->hw", wt, masks)

    ref, variants = rounded(model, x[None] * masks[..., None], c, finish)
    return ref, variants, [
        decision("labels", relabelled(own, lab, n), margin),
        decision("best", b != ob, (s[ob] - s[b]) / s.max()),
        decision("worst", q != oq, (s[q] - s[oq]) / s.max()),
    ]


def cosinecam(lin, x, a, g, c, groups=None, labels=None, iters=10):
    """groups, labels [K]: tfcam's group count and spectral clustering, used
    instead of the reference's own."""
    size = x.shape[:2]
    h, w, k = a.shape
    rows = (a * g.mean(axis=(0, 1))).reshape(h * w, k).T  # [K,hw]
    centred = rows - rows.mean()
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    feats = np.where(norm > 0, centred / np.where(norm > 0, norm, 1), 0)
    own_n, elbow_margin = elbow_groups(feats, iters)
    n = own_n if groups is None else int(groups)
    emb, spectral_margin = spectral_embedding(feats, n)
    own, _, kmeans_margin = kmeans_fit(emb, n, iters)
    lab = own if labels is None else labels.astype(int)
    groups = upsample(members_mean(rows, lab, n).reshape(n, h, w), size)
    valid = groups.max(axis=(1, 2)) > groups.min(axis=(1, 2))
    masks = rescale(groups)
    sigma = 51 * max(size) / 224
    xb = blur(x[None], int(3 * sigma + 0.5), sigma)[0]
    masked = x[None] * masks[..., None] + xb[None] * (1 - masks[..., None])

    def finish(y):
        gain = (y[:-1] - y[-1]) * valid
        gain = gain / np.linalg.norm(gain)
        total = np.einsum("j,jhw->hw", gain, groups)
        flat = np.sort(total.ravel())
        return total - flat[(len(flat) - 1) // 2]

    ref, variants = rounded(lin, np.concatenate([masked, xb[None]]), c, finish)
    return ref, variants, own_n, [
        decision("groups", n != own_n, elbow_margin),
        decision("labels", relabelled(own, lab, n), min(spectral_margin, kmeans_margin)),
    ]


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
        a, g = perturbed(a, 1), perturbed(g, 2)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        tfcam = tfcam_choices(os.path.join(out, name), len(x))
        res = {"groupcam": [], "clustercam": [], "cosinecam": []}
        var = {key: [] for key in res}
        report = {key: [] for key in res}
        counts = []
        with reference_view(model.variables), reference_view(lin.variables):
            compute(model, lin, x, t, a, g, tfcam, res, var, report, counts)
        np.save(os.path.join(out, name, "cosinecam_groups.npy"), np.array(counts, np.float32))
        with open(os.path.join(out, name, "decisions.json"), "w") as f:
            json.dump(report, f)
        for key, v in res.items():
            np.save(os.path.join(out, name, key + ".npy"), normalise(np.maximum(np.stack(v), 0)).astype(np.float32))
            vs = np.stack(var[key], axis=1)  # [V,N,H,W]
            np.save(os.path.join(out, name, key + ".variants.npy"),
                    np.stack([normalise(np.maximum(m, 0)) for m in vs]).astype(np.float32))


def compute(model, lin, x, t, a, g, tfcam, res, var, report, counts):
    """The three references for each image, appended to res (maps), var
    (their rounding variants), report (decisions) and counts (Cosine-CAM's
    own group counts)."""
    for i in range(len(x)):
        ch = tfcam(i)
        m, v, dec = groupcam(model, x[i], a[i], g[i], t[i], keep=ch.get("groupcam_keep"))
        res["groupcam"].append(m)
        var["groupcam"].append(v)
        report["groupcam"].append(dec)
        m, v, dec = clustercam(model, x[i], a[i], t[i], labels=ch.get("clustercam_labels"),
                               best=ch.get("clustercam_best"), worst=ch.get("clustercam_worst"))
        res["clustercam"].append(m)
        var["clustercam"].append(v)
        report["clustercam"].append(dec)
        m, v, n, dec = cosinecam(lin, x[i], a[i], g[i], t[i], groups=ch.get("cosinecam_groups"),
                                 labels=ch.get("cosinecam_labels"))
        res["cosinecam"].append(m)
        var["cosinecam"].append(v)
        report["cosinecam"].append(dec)
        counts.append(n)


def perturbed(v, stream):
    """v, or when TFCAM_REF_PERTURB=p is set (test-only), v scaled by
    1 + p·u: the rounding-size difference another CPU's activations and
    gradients could have, to show the check survives it."""
    p = float(os.environ.get("TFCAM_REF_PERTURB", "0") or 0)
    if p == 0:
        return v
    return v * (1 + p * np.random.default_rng([20251130, stream]).uniform(-1, 1, v.shape))


def tfcam_choices(d, n):
    """tfcam's discrete choices for the images of a fixture, from
    tfcam_<choice>.npy files in d (written by the Go test): a function of the
    image index giving a dict (empty without the files: the reference's own
    choices). groupcam_keep is copy-major [G·N, h·w]."""
    got = {}
    for key in ("groupcam_keep", "clustercam_labels", "clustercam_best", "clustercam_worst",
                "cosinecam_groups", "cosinecam_labels"):
        p = os.path.join(d, "tfcam_" + key + ".npy")
        if os.path.exists(p):
            got[key] = np.load(p)
    if "groupcam_keep" in got:
        keep = got["groupcam_keep"]
        got["groupcam_keep"] = keep.reshape(-1, n, keep.shape[-1]).transpose(1, 0, 2)
    return lambda i: {key: v[i] for key, v in got.items()}


if __name__ == "__main__":
    main()
