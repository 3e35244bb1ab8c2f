"""Third-party reference maps: tf-keras-vis and Xplique on tfcam's Keras fixtures.

For each fixture directory that holds model.keras, explains inputs.npy for
the classes in targets.npy at the fixture's default layer, and saves the
maps at the layer's resolution before any normalisation (both libraries
normalise, or upsample, differently from each other and from tfcam; the Go
test compares after an exact per-image min-max so that only the method's own
formula is compared):

  tkv_gradcam.low.npy        tf-keras-vis Gradcam (ReplaceToLinear: logits)
  tkv_gradcam++norm.low.npy  tf-keras-vis GradcamPlusPlus (its variant: exp(S),
                             alpha divided by its spatial sum)
  tkv_layercam.low.npy       tf-keras-vis Layercam
  tkv_scorecam.low.npy       tf-keras-vis Scorecam (ReplaceToLinear; it applies
                             the softmax itself: weights are probabilities)
  tkv_faster-scorecam.low.npy  tf-keras-vis Scorecam max_N=10, one image per
                             call (with several it scores the union of their
                             top channels)
  xpl_gradcam.low.npy        Xplique GradCAM, before its bicubic resize
  xpl_guided-backprop.npy    Xplique GuidedBackprop, channels kept [N,H,W,C]
  xpl_saliency.npy           Xplique Saliency (|gradient|, max over channels)
  xpl_integrated-gradients.npy  Xplique IntegratedGradients, 16 steps,
                             baseline 0, channels kept [N,H,W,C]
  xpl_smoothgrad.npy         Xplique SmoothGrad, 16 samples, channels kept
                             [N,H,W,C], fed tfcam's noise (below)
  xpl_gradient-input.npy     Xplique GradientInput (channels: its mean reducer)
  xpl_squaregrad.npy,        Xplique SquareGrad and VarGrad, 16 samples, fed
  xpl_vargrad.npy            tfcam's noise as SmoothGrad (mean reducer)
  xpl_occlusion.npy          Xplique Occlusion, value 0, patches and stride of
                             max(3, H/10) px (3 px, its default, at 32 px)
  xpl_rise.npy               Xplique Rise, 64 masks, 7×7 grid, keep 0.5, fed
                             tfcam's masks and crop offsets (see
                             rise_with_tfcam_masks)

The seven xpl_ input-gradient maps cross every ReLU and max-pool kink: they
are also written on the kink variants of the weights (cam_common.py) as
<name>.kinks.npy. TFCAM_REF_PERTURB (test-only) perturbs the weights the
libraries see (cam_common.reference_view).

Xplique's SmoothGrad draws its own noise; to compare the method rather than
two random draws, its perturbation step is replaced by one that adds the
noise tfcam adds for Config.Seed 0: TensorFlow's StatelessRandomNormal with
seed (0, 1) and shape [16,1,H,W,C] (one pattern per copy, the same for
every image), times 0.15·(max − min) of each image. The same kernel gives
the same numbers in both.

Xplique ignores output_layer (2.0.2), so it gets a copy of the model with a
linear head. Its GradCAM is read before its final bicubic upsampling, through
the explainer's _gradient/_compute_weights/_apply_weights steps.

Usage: python scripts/peer_cams.py OUT_DIR FIXTURE_DIR [FIXTURE_DIR ...]
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
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
from tf_keras_vis.layercam import Layercam
from tf_keras_vis.scorecam import Scorecam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore
from xplique.attributions import (GradCAM, GradientInput, GuidedBackprop, IntegratedGradients, Occlusion, Rise, Saliency,
                                  SmoothGrad, SquareGrad, VarGrad)
from xplique.attributions.gradient_statistics.gradient_statistic import GradientStatistic
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import linear_head, reference_view, with_kinks  # noqa: E402


def explain(fixture_dir, out_dir):
    model = keras.models.load_model(os.path.join(fixture_dir, "model.keras"))
    meta = json.load(open(os.path.join(fixture_dir, "meta.json")))
    x = np.load(os.path.join(fixture_dir, "inputs.npy"))
    targets = np.load(os.path.join(fixture_dir, "targets.npy"))
    lin = linear_head(model)
    with reference_view(model.weights), reference_view(lin.weights):
        out = maps(model, lin, meta, x, targets)
    os.makedirs(out_dir, exist_ok=True)
    for k, v in out.items():
        np.save(os.path.join(out_dir, k + ".npy"), v.astype(np.float32))


def maps(model, lin, meta, x, targets):
    layer = meta["default_layer"]
    score = CategoricalScore(targets.tolist())
    out = {}
    for name, cls in [("gradcam", Gradcam), ("gradcam++norm", GradcamPlusPlus), ("layercam", Layercam)]:
        vis = cls(model, model_modifier=ReplaceToLinear(), clone=True)
        # seek_penultimate_conv_layer=False: use the given layer even when it is
        # not a convolution (tf-keras-vis would otherwise walk back to one).
        cam = vis(score, x, penultimate_layer=layer, seek_penultimate_conv_layer=False,
                  expand_cam=False, normalize_cam=False)
        out["tkv_" + name + ".low"] = np.asarray(cam)
    vis = Scorecam(model, model_modifier=ReplaceToLinear(), clone=True)
    common = dict(penultimate_layer=layer, seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=False)
    out["tkv_scorecam.low"] = np.asarray(vis(score, x, **common))
    out["tkv_faster-scorecam.low"] = np.concatenate(
        [np.asarray(vis(CategoricalScore([int(t)]), x[i:i + 1], max_N=10, **common)) for i, t in enumerate(targets)])
    onehot = tf.one_hot(targets, meta["classes"])
    gc = GradCAM(lin, conv_layer=layer)
    fmaps, grads = gc._gradient(tf.constant(x), onehot)
    out["xpl_gradcam.low"] = GradCAM._apply_weights(gc._compute_weights(grads, fmaps), fmaps).numpy()
    # The input-gradient methods cross every ReLU and max-pool kink: also on
    # the kink variants of the weights (cam_common.py), as <name>.kinks.
    kinked = {
        "xpl_guided-backprop": lambda: GuidedBackprop(lin, reducer=None).explain(x, onehot.numpy()).numpy(),
        "xpl_saliency": lambda: Saliency(lin).explain(x, onehot.numpy()).numpy()[..., 0],
        "xpl_integrated-gradients": lambda: IntegratedGradients(lin, steps=16, baseline_value=0.0, reducer=None).explain(x, onehot.numpy()).numpy(),
        "xpl_smoothgrad": lambda: smoothgrad_with_tfcam_noise(lin, x, onehot),
        # Xplique's default channel reducer (the mean) for these three.
        "xpl_gradient-input": lambda: GradientInput(lin).explain(x, onehot.numpy()).numpy(),
        "xpl_squaregrad": lambda: smoothgrad_with_tfcam_noise(lin, x, onehot, cls=SquareGrad, reducer="mean"),
        "xpl_vargrad": lambda: smoothgrad_with_tfcam_noise(lin, x, onehot, cls=VarGrad, reducer="mean"),
    }
    for k, fn in kinked.items():
        out[k], out[k + ".kinks"] = with_kinks(fn, lin.weights)
    # Xplique's default 3-px patches, wider on larger inputs (16 px on the
    # 160-px benchmark model: 2,809 patches per image would take minutes).
    patch = max(3, x.shape[1] // 10)
    out["xpl_occlusion"] = Occlusion(lin, patch_size=patch, patch_stride=patch, occlusion_value=0.0, batch_size=256).explain(x, onehot.numpy()).numpy()
    out["xpl_rise"] = rise_with_tfcam_masks(lin, x, onehot)
    return out


def rise_with_tfcam_masks(lin, x, onehot, samples=64, grid=7, keep=0.5, seed=0):
    """Xplique's Rise on tfcam's masks for Config.Seed 0: its mask draw
    returns tfcam's cells (StatelessRandomUniform [samples,grid,grid,1],
    seed (0, 4), < keep) and its random crop takes tfcam's offsets
    (⌊u·(n' − n + 1)⌋, u from seed (0, 5)), one mask per batch so that each
    mask gets its own crop as in tfcam (Xplique crops a whole batch of masks
    at one offset). Its upsampling, masking and Σ f·M / Σ M are its own."""
    h, w = x.shape[1:3]
    cells = tf.raw_ops.StatelessRandomUniform(shape=[samples, grid, grid, 1], seed=tf.constant([seed, 4], tf.int64), dtype=tf.float32)
    uh, uw = int(h * (1.0 + 1.0 / grid)), int(w * (1.0 + 1.0 / grid))
    u = tf.raw_ops.StatelessRandomUniform(shape=[samples, 2], seed=tf.constant([seed, 5], tf.int64), dtype=tf.float32).numpy()
    offsets = tf.constant(np.floor(u * np.array([uh - h + 1, uw - w + 1], np.float32)).astype(np.int32))
    count = tf.Variable(0, dtype=tf.int32)

    def crop(value, size):
        j = tf.math.floormod(count.assign_add(1) - 1, samples)
        return tf.slice(value, tf.concat([[0], offsets[j], [0]], 0), size)

    saved_masks, saved_crop = Rise._get_masks, tf.image.random_crop
    Rise._get_masks = staticmethod(lambda *args: cells < keep)
    tf.image.random_crop = crop
    try:
        return Rise(lin, nb_samples=samples, grid_size=grid, preservation_probability=keep, mask_value=0.0,
                    batch_size=1).explain(x, onehot.numpy()).numpy()
    finally:
        Rise._get_masks, tf.image.random_crop = saved_masks, saved_crop


def smoothgrad_with_tfcam_noise(lin, x, onehot, samples=16, noise=0.15, seed=0, cls=SmoothGrad, reducer=None):
    n = len(x)
    # tfcam draws one pattern per copy, shared by the images of a batch.
    draws = tf.raw_ops.StatelessRandomNormal(shape=(samples, 1) + x.shape[1:], seed=tf.constant([seed, 1], tf.int64), dtype=tf.float32).numpy()
    sigma = noise * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))  # per image
    # Xplique wants input-major copies: image i's samples consecutive.
    perturbed = np.stack([x[i] + draws[j, 0] * np.float32(sigma[i]) for i in range(n) for j in range(samples)])

    def perturb(inputs, nb_perturbations, _noise):
        assert inputs.shape[0] == n and nb_perturbations == samples
        return tf.constant(perturbed)

    saved = GradientStatistic._perturb_samples
    GradientStatistic._perturb_samples = staticmethod(perturb)
    try:
        sg = cls(lin, reducer=reducer, nb_samples=samples, batch_size=samples * n)
        return sg.explain(x, onehot.numpy()).numpy()
    finally:
        GradientStatistic._perturb_samples = saved


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    for d in sys.argv[2:]:
        # tf-keras-vis and Xplique have no token layers (tf-keras-vis #83).
        if os.path.exists(os.path.join(d, "model.keras")) and "tokens" not in json.load(open(os.path.join(d, "meta.json"))):
            explain(d, os.path.join(sys.argv[1], os.path.basename(os.path.normpath(d))))


if __name__ == "__main__":
    main()
