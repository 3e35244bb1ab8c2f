"""Small helpers shared by the Python reference scripts (the parts that are
not the methods themselves): tfcam's normalisation and upsampling, the
linear-head twin of a Keras classifier, and the inputs a reference sees
(the test-only perturbation and the kink variants)."""

import contextlib
import os

import numpy as np
import tensorflow as tf
import keras

import vit_layers  # noqa: F401  (registers the vit fixture's layer for keras.models.load_model)

EPS = 1e-7


# ---------------------------------------------------------------- rounding
#
# TFCAM_REF_ROUNDING=r (test-only, `make test-portability`) gives every
# number a reference reads from the model — the logits of each call of the
# linear-head twin, the layer activations and gradients it loads — an
# independent relative error uniform in [−r, r]: the incoherent,
# element-by-element differences another CPU's kernels make (reduction
# order, fused kernels, AVX-512), which TFCAM_REF_PERTURB's coherent change
# of the weights does not. With r = 2⁻²⁰, the rounding the Go tests assume
# (internal/fixture/conditioning.go), every parity comparison must still
# pass: one whose normalised map is mostly score rounding (occlusion on a
# random-weight net whose scores hardly move) does not.


def rounding():
    """r of TFCAM_REF_ROUNDING (0: off)."""
    return float(os.environ.get("TFCAM_REF_ROUNDING", "0") or 0)


_ROUNDING_RNG = np.random.default_rng(20261207)


def rounded(a):
    """a with the TFCAM_REF_ROUNDING error (a itself when it is off)."""
    r = rounding()
    if r == 0:
        return a
    return a * (1 + r * _ROUNDING_RNG.uniform(-1, 1, np.shape(a)))


def layer_view(a, meta):
    """The target layer's tensor as the maps see it: a token layer's [N,T,C]
    (meta["tokens"] = {"drop": P, "grid": [h, w]}) without its P prefix
    tokens, reshaped to the patch grid [N,h,w,C]; any other layer as it is.
    Under TFCAM_REF_ROUNDING, with its rounding error (see rounded)."""
    a = rounded(a)
    t = meta.get("tokens")
    if not t:
        return a
    h, w = t["grid"]
    return a[:, t["drop"]:, :].reshape(a.shape[0], h, w, a.shape[-1])


def normalise(m):
    """Per-image min–max to [0,1] with tfcam's epsilon; m is [N,H,W]."""
    lo = m.min(axis=(1, 2), keepdims=True)
    hi = m.max(axis=(1, 2), keepdims=True)
    return (m - lo) / (hi - lo + EPS)


def upsample(m, size):
    """Bilinear resize of maps [N,h,w] to size (tf.image.resize, half-pixel centres)."""
    return tf.image.resize(np.asarray(m, np.float32)[..., None], size, method="bilinear").numpy()[..., 0].astype(np.float64)


def upsample_corners(m, size):
    """Bilinear resize of maps [..., h, w] to size with aligned corners, in
    float64: output pixel i samples the input at i·(h−1)/(H−1), the first
    and last pixels' centres coincide. This is torch's
    nn.UpsamplingBilinear2d (pytorch-grad-cam's Score-CAM masks) and
    scipy's zoom(order=1) (tf-keras-vis's), written from the definition."""
    m = np.asarray(m, np.float64)
    for axis, n_in, n_out in zip((-2, -1), m.shape[-2:], size):
        pos = np.arange(n_out) * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        lo = np.minimum(np.floor(pos).astype(int), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = pos - lo
        shape = [1] * m.ndim
        shape[axis] = n_out
        frac = frac.reshape(shape)
        m = np.take(m, lo, axis=axis) * (1 - frac) + np.take(m, hi, axis=axis) * frac
    return m


def linear_head(model):
    """A copy of a Keras classifier whose last layer outputs logits (under
    TFCAM_REF_ROUNDING, with a fresh rounding error at each call)."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.layers[-1].activation = keras.activations.linear
    if rounding() != 0:
        twin.layers[-1].activation = rounding_error
    return twin


_ROUNDING_GEN = None


@keras.saving.register_keras_serializable(package="tfcam")
def rounding_error(z):
    """The linear activation with TFCAM_REF_ROUNDING's error, fresh at each
    call (registered, so that the peers' model clones keep it)."""
    global _ROUNDING_GEN
    if _ROUNDING_GEN is None:
        _ROUNDING_GEN = tf.random.Generator.from_seed(20261207)
    u = _ROUNDING_GEN.uniform(tf.shape(z), -1, 1, dtype=z.dtype)
    return z * (1 + tf.cast(rounding(), z.dtype) * tf.stop_gradient(u))


# ---------------------------------------------------------------- kinks
#
# Input gradients of ReLU / max-pool networks are piecewise constant in the
# ReLU masks and max-pool routes. A pre-activation within rounding (~1e-6
# relative) of zero, or two pooled values that close, can fall on either
# side in float32 depending on the kernels a CPU runs, and the gradient then
# jumps by that unit's contribution (for a deep net over much of the image).
# The references therefore also evaluate each kink-crossing method with the
# model's weights scaled by 1 ± KINK_EPS·u_j (u_j uniform in [−1, 1], one
# factor per weight, KINK_PAIRS pairs): every pre-activation moves by
# ~KINK_EPS of its scale, so any unit within ~KINK_EPS of a kink flips in
# one of a pair, and the Go tests accept a difference from the reference
# only where these variants show one (internal/fixture/kinks.go). KINK_EPS
# is 10× the rounding it must cover. Weights, not inputs: exact ties, which
# every CPU computes alike (max pooling over a flat image region, the
# all-zero image of integrated gradients), stay ties.

KINK_EPS = 1e-5
KINK_PAIRS = 3


@contextlib.contextmanager
def scaled_weights(variables, p, seed, sign=1):
    """Temporarily multiplies each tf.Variable by 1 + sign·p·u, u uniform in
    [−1, 1] per element from seed (one stream over the variables, in order)."""
    rng = np.random.default_rng(seed)
    saved = [v.numpy() for v in variables]
    try:
        for v, w in zip(variables, saved):
            u = rng.uniform(-1, 1, w.shape).astype(w.dtype)
            v.assign(w * (1 + sign * w.dtype.type(p) * u))
        yield
    finally:
        for v, w in zip(variables, saved):
            v.assign(w)


def reference_view(variables):
    """Context in which a reference computes: unchanged, or, when
    TFCAM_REF_PERTURB=p is set (test-only), with the weights scaled by
    1 + p·u: the rounding-size change another CPU's kernels make, to show
    that the parity tests survive it."""
    p = float(os.environ.get("TFCAM_REF_PERTURB", "0") or 0)
    if p == 0:
        return contextlib.nullcontext()
    return scaled_weights(variables, p, 20251130)


def with_kinks(fn, variables):
    """fn() and the stack of fn() on the 2·KINK_PAIRS kink variants of the
    weights ([2·KINK_PAIRS, ...]), saved as <name>.kinks.npy beside it. Call
    it inside reference_view."""
    ref = np.asarray(fn())
    variants = []
    for j in range(KINK_PAIRS):
        for sign in (1, -1):
            with scaled_weights(variables, KINK_EPS, 1000 + j, sign):
                variants.append(np.asarray(fn()))
    return ref, np.stack(variants)
