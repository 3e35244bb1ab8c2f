"""Reference class-activation maps, written from the papers' formulas in numpy.

Independent of tfcam's Go code and graph: the inputs are the activations and
gradients Python computed with tf.GradientTape when the fixture was built
(layer.npy, grad_layer.npy, guided_input.npy, grad_input.npy; a token
layer's viewed as its patch grid, cam_common.layer_view), the formulas are re-derived
here in float64, and only the final bilinear upsampling uses TensorFlow
(tf.image.resize, half-pixel centres, as tfcam's ResizeBilinear).

Usage: python scripts/reference_cams.py OUT_DIR FIXTURE_DIR [FIXTURE_DIR ...]
Writes OUT_DIR/<fixture>/<method>.npy (normalised, input resolution, [N,H,W])
and OUT_DIR/<fixture>/<method>.low.npy (normalised, layer resolution); for
guided backprop and Guided Grad-CAM also <method>.kinks.npy, the same on
the kink variants of the input (guided_input.kinks.npy); gradient-input
(x ⊙ dy/dx summed over channels, signed) and its .kinks from
grad_input(.kinks).npy.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import layer_view, normalise, upsample  # noqa: E402

EPS = 1e-7


def relu(x):
    return np.maximum(x, 0)


def wsum(w, a):
    return (w[:, None, None, :] * a).sum(-1)


def safe_div(x, y):
    return np.where(y != 0, x / np.where(y != 0, y, 1), 0)


def gradcam(a, g):
    return wsum(g.mean(axis=(1, 2)), a)


def gradcampp(a, g, normalize_alpha=False):
    g2, g3 = g ** 2, g ** 3
    denom = 2 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3
    alpha = safe_div(g2, denom)
    if normalize_alpha:
        alpha = safe_div(alpha, alpha.sum(axis=(1, 2), keepdims=True))
    return wsum((alpha * relu(g)).sum(axis=(1, 2)), a)


def gradcampp_pytorch(a, g):
    """pytorch-grad-cam 1.5's GradCAMPlusPlus: 1e-6 added to α's
    denominator, α set to 0 where the gradient is 0."""
    g2, g3 = g ** 2, g ** 3
    alpha = g2 / (2 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3 + 1e-6)
    alpha = np.where(g != 0, alpha, 0)
    return wsum((alpha * relu(g)).sum(axis=(1, 2)), a)


def hirescam(a, g):
    return (g * a).sum(-1)


def xgradcam(a, g):
    return wsum(safe_div((a * g).sum(axis=(1, 2)), a.sum(axis=(1, 2))), a)


def layercam(a, g):
    return (relu(g) * a).sum(-1)


def eigencam(a, g):
    n, h, w, k = a.shape
    out = np.empty((n, h, w))
    for i in range(n):
        x = a[i].reshape(h * w, k)
        xc = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        p = xc @ vt[0]
        m = x.mean(axis=1)
        # The mean map orients p, unless it is flat (LayerNorm outputs):
        # then p's larger tail is made positive.
        if np.abs(m - m.mean()).max() > 1e-4 * np.abs(x).max():
            flip = (p * m).sum() < 0
        else:
            flip = (p ** 3).sum() < 0
        if flip:
            p = -p
        out[i] = p.reshape(h, w)
    return out


LAYER_METHODS = {
    "gradcam": gradcam,
    "gradcam++": gradcampp,
    "gradcam++norm": lambda a, g: gradcampp(a, g, normalize_alpha=True),
    "gradcam++eps": gradcampp_pytorch,
    "hirescam": hirescam,
    "xgradcam": xgradcam,
    "layercam": layercam,
    "eigencam": eigencam,
}


def maps_for(fixture_dir):
    meta = json.load(open(os.path.join(fixture_dir, "meta.json")))
    a = layer_view(np.load(os.path.join(fixture_dir, "layer.npy")).astype(np.float64), meta)
    g = layer_view(np.load(os.path.join(fixture_dir, "grad_layer.npy")).astype(np.float64), meta)
    gb = np.load(os.path.join(fixture_dir, "guided_input.npy")).astype(np.float64)
    size = gb.shape[1:3]
    out = {}
    for name, fn in LAYER_METHODS.items():
        low = relu(fn(a, g))
        out[name] = normalise(upsample(low, size))
        out[name + ".low"] = normalise(low)
    cam = upsample(relu(gradcam(a, g)), size)
    # Guided backprop crosses every ReLU kink: its maps on the input
    # gradient's kink variants too (cam_common.py), as <method>.kinks.
    variants = np.load(os.path.join(fixture_dir, "guided_input.kinks.npy")).astype(np.float64)
    for suffix, v in [("", gb)] + [(".kinks", v) for v in variants]:
        gbmap = np.abs(v).max(axis=-1)
        out.setdefault("guided-backprop" + suffix, []).append(normalise(gbmap))
        out.setdefault("guided-gradcam" + suffix, []).append(normalise(gbmap * cam))
    for k in ["guided-backprop", "guided-gradcam"]:
        out[k] = out[k][0]
        out[k + ".kinks"] = np.stack(out[k + ".kinks"])
    # Gradient × input (Shrikumar et al.): Σ_c x_c·dy/dx_c, signed, from
    # the stored input gradient and its kink variants.
    x = np.load(os.path.join(fixture_dir, "inputs.npy")).astype(np.float64)
    gi = np.load(os.path.join(fixture_dir, "grad_input.npy")).astype(np.float64)
    gi_kinks = np.load(os.path.join(fixture_dir, "grad_input.kinks.npy")).astype(np.float64)
    out["gradient-input"] = normalise((x * gi).sum(-1))
    out["gradient-input.kinks"] = np.stack([normalise((x * v).sum(-1)) for v in gi_kinks])
    return out


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out_dir = sys.argv[1]
    for fixture_dir in sys.argv[2:]:
        name = os.path.basename(os.path.normpath(fixture_dir))
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        for method, m in maps_for(fixture_dir).items():
            np.save(os.path.join(d, method + ".npy"), m.astype(np.float32))


if __name__ == "__main__":
    main()
