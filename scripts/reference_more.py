"""References for the perturbation and input-gradient methods, in Python.

Written from the papers with the fixture's Keras model (model.keras) and
tf.GradientTape, independently of tfcam's graph:

  saliency             max_c |d logit / d x|                (Simonyan et al.)
  integrated-gradients Σ_c (x − 0)·trapezoid-mean of d logit/dx along 16
                       path points α = 0 … 1 (Sundararajan et al.; Xplique's
                       variant), signed
  cam                  Σ_k W[k,c] A_k, W the Dense kernel   (Zhou et al.)
  ablationcam          (y − y_k)/y with y_k the logit when channel k of the
                       layer is zeroed, through GAP + Dense  (Desai & Ramaswamy)
  scorecam             w_k = softmax probability of the class on x ⊙ norm(up(A_k))
                       (Wang et al.; official code / tf-keras-vis variant,
                       masks upsampled with tf.image.resize bilinear)
  faster-scorecam      the same on the 10 channels of largest spatial variance
  scorecam-softmax     w = softmax over channels of the class logit on the
                       masked images, masks as scorecam's (tfcam's
                       variant=softmax)
  scorecam-pytorch     pytorch-grad-cam 1.5's ScoreCAM: the same softmax,
                       masks upsampled with aligned corners
                       (nn.UpsamplingBilinear2d) and scaled by
                       (up − min)/(max − min + 1e-8), the image masked as
                       the model receives it (tfcam's
                       variant=softmax:upsample=corners)
  scorecam-zero,       w_k = p(x ⊙ H_k) − p(x_b), the paper's baseline form,
  scorecam-blur        x_b = 0 or x under a Gaussian blur of σ = max(H,W)/32

saliency and integrated-gradients cross every ReLU and max-pool kink: they
are also written on the kink variants of the weights (cam_common.py) as
<method>.kinks.npy.

cam and ablationcam only for fixtures whose default layer feeds global
average pooling and the Dense classifier. For a fixture with token layers
and a "tail_layer" in meta.json (a token layer no residual bypasses), also
ablationcam-tail: Ablation-CAM there, each channel zeroed on the patch
tokens only (the prefix tokens kept), the Keras model's own layers after it
re-run. Maps are ReLU'd (except
integrated-gradients), upsampled like tfcam (tf.image.resize, bilinear) and
min–max normalised with eps 1e-7, at input resolution.

Usage: python scripts/reference_more.py OUT_DIR FIXTURE_DIR [FIXTURE_DIR ...]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import layer_view, normalise, upsample, upsample_corners, linear_head, reference_view, with_kinks, EPS  # noqa: E402
from reference_groupcam import blur  # noqa: E402


def select(scores, targets):
    return tf.reduce_sum(tf.gather(scores, targets, batch_dims=1))


def input_grad(model, x, targets):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = select(model(xt, training=False), targets)
    return tape.gradient(s, xt).numpy()


def dense_head(model, layer):
    """Kernel and bias of the Dense classifier, if it reads layer through GAP only."""
    head = model.layers[-1]
    pool = model.layers[-2]
    if not isinstance(head, keras.layers.Dense) or not isinstance(pool, keras.layers.GlobalAveragePooling2D):
        return None
    if pool.input is not model.get_layer(layer).output:
        return None
    w, b = head.get_weights()
    return w.astype(np.float64), b.astype(np.float64)


def main():
    out = sys.argv[1]
    for d in sys.argv[2:]:
        if not os.path.exists(os.path.join(d, "model.keras")):
            continue
        name = os.path.basename(os.path.normpath(d))
        meta = json.load(open(os.path.join(d, "meta.json")))
        model = keras.models.load_model(os.path.join(d, "model.keras"))
        lin = linear_head(model)
        with reference_view(model.weights), reference_view(lin.weights):
            res = references(d, meta, model, lin)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for k, v in res.items():
            np.save(os.path.join(out, name, k + ".npy"), np.asarray(v, np.float32))


def token_ablation(lin, meta, x, t):
    """Ablation-CAM at meta["tail_layer"], a token layer: w_k = (y − y_k)/y,
    y_k the logit with channel k of the patch tokens zeroed."""
    name = meta["tail_layer"]
    head = keras.Model(lin.inputs, lin.get_layer(name).output)
    tail = keras.Model(lin.get_layer(name).output, lin.output)
    a = head(x, training=False).numpy()
    n, drop = len(x), meta["tokens"]["drop"]
    y = tail(a, training=False).numpy()[np.arange(n), t].astype(np.float64)
    k = a.shape[-1]
    w = np.empty((n, k))
    for j in range(k):
        ab = a.copy()
        ab[:, drop:, j] = 0
        w[:, j] = (y - tail(ab, training=False).numpy()[np.arange(n), t]) / y
    grid = layer_view(a.astype(np.float64), meta)
    return normalise(upsample(np.maximum(np.einsum("nhwk,nk->nhw", grid, w), 0), x.shape[1:3]))


def references(d, meta, model, lin):
    """The references for one fixture directory d."""
    x = np.load(os.path.join(d, "inputs.npy"))
    t = np.load(os.path.join(d, "targets.npy"))
    a = layer_view(np.load(os.path.join(d, "layer.npy")).astype(np.float64), meta)
    n, size = len(x), x.shape[1:3]
    res = {}
    res["saliency"], res["saliency.kinks"] = with_kinks(
        lambda: normalise(np.abs(input_grad(lin, x, t)).max(axis=-1)), lin.weights)

    def integrated_gradients(steps=16):
        grads = np.stack([input_grad(lin, (j / (steps - 1)) * x, t) for j in range(steps)])
        avg = (grads.sum(0) - 0.5 * (grads[0] + grads[-1])) / (steps - 1)
        return normalise((x * avg).sum(-1))

    res["integrated-gradients"], res["integrated-gradients.kinks"] = with_kinks(integrated_gradients, lin.weights)
    head = dense_head(model, meta["default_layer"])
    if head is not None:
        w, b = head
        res["cam"] = normalise(upsample(np.maximum(np.einsum("nhwk,kn->nhw", a, w[:, t]), 0), size))
        pooled = a.mean(axis=(1, 2))  # [N,K]
        y = (pooled @ w + b)[np.arange(n), t]
        k = a.shape[-1]
        yk = np.empty((n, k))
        for j in range(k):
            p = pooled.copy()
            p[:, j] = 0
            yk[:, j] = (p @ w + b)[np.arange(n), t]
        weights = (y[:, None] - yk) / y[:, None]
        res["ablationcam"] = normalise(upsample(np.maximum(np.einsum("nhwk,nk->nhw", a, weights), 0), size))
    if meta.get("tail_layer"):
        res["ablationcam-tail"] = token_ablation(lin, meta, x, t)
    sigma = max(size) / 32
    blurred = blur(x, int(np.ceil(3 * sigma)), sigma)
    variants = [
        ("scorecam", None, "prob", None),
        ("faster-scorecam", 10, "prob", None),
        ("scorecam-softmax", None, "softmax", None),
        ("scorecam-pytorch", None, "pytorch", None),
        ("scorecam-zero", None, "prob", np.zeros_like(x)),
        ("scorecam-blur", None, "prob", blurred),
    ]
    for label, top, variant, base in variants:
        cams = []
        for i in range(n):
            ai = a[i]
            chans = np.arange(ai.shape[-1])
            if top is not None:
                var = ai.reshape(-1, ai.shape[-1]).var(axis=0)
                chans = np.argsort(-var, kind="stable")[:top]
            chw = np.transpose(ai[..., chans], (2, 0, 1))
            if variant == "pytorch":
                up = upsample_corners(chw, size)  # [K,H,W]
                lo = up.min(axis=(1, 2), keepdims=True)
                hi = up.max(axis=(1, 2), keepdims=True)
                masks = (up - lo) / (hi - lo + 1e-8)
            else:
                up = upsample(chw, size)  # [K,H,W]
                lo = up.min(axis=(1, 2), keepdims=True)
                hi = up.max(axis=(1, 2), keepdims=True)
                masks = np.where(hi > lo, (up - lo) / np.where(hi > lo, hi - lo, 1), 0)
            masked = tf.constant(x[i][None] * masks[..., None], tf.float32)
            if variant in ("softmax", "pytorch"):
                logits = lin(masked, training=False).numpy()[:, t[i]].astype(np.float64)
                e = np.exp(logits - logits.max())
                weights = e / e.sum()
            else:
                weights = model(masked, training=False).numpy()[:, t[i]].astype(np.float64)
                if base is not None:
                    weights -= model(tf.constant(base[i][None], tf.float32), training=False).numpy()[0, t[i]]
            cams.append(np.maximum(np.einsum("hwk,k->hw", ai[..., chans], weights), 0))
        res[label] = normalise(upsample(np.stack(cams), size))
    return res


if __name__ == "__main__":
    main()
