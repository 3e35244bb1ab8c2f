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

The four xpl_ input-gradient maps cross every ReLU and max-pool kink: they
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
from xplique.attributions import GradCAM, GuidedBackprop, IntegratedGradients, Saliency, SmoothGrad
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
    }
    for k, fn in kinked.items():
        out[k], out[k + ".kinks"] = with_kinks(fn, lin.weights)
    return out


def smoothgrad_with_tfcam_noise(lin, x, onehot, samples=16, noise=0.15, seed=0):
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
        sg = SmoothGrad(lin, reducer=None, nb_samples=samples, batch_size=samples * n)
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
