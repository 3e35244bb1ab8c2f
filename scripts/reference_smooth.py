"""References for the shared smoothing options eigen_smooth and aug_smooth
(pytorch-grad-cam 1.5.x's, base_cam.py), written again in numpy and
tf.GradientTape for NHWC tensors, independent of tfcam's Go code and graph.

For each method below, the weighted activations W [N,h,w,K] whose sum over
channels is the map:

  gradcam   W = mean_ij(g) ⊙ A              (grad_cam.py)
  layercam  W = ReLU(g) ⊙ A                 (layer_cam.py, element-wise)
  scorecam  W = p_c(x ⊙ H_k) ⊙ A_k, H_k = min–max of A_k upsampled to the
            input (bilinear, half-pixel centres), flat channels → 0, p the
            model's probability output (tfcam's default variant "prob")

g = d logit_c / d A by GradientTape on the Keras model with a linear last
layer, A the target layer's output (a token layer's patch grid), c the
fixture's target (the top-1 class on the original image).

  eigen_smooth  instead of W.sum(-1): per image, W as [h·w, K], centred by
                its mean over the positions, projected on its first right
                singular vector (get_2d_projection: numpy's SVD with
                full_matrices=True, VT[0]), with tfcam's EigenCAM sign (the
                projection correlates positively with W's mean over
                channels; where that mean map is flat, the larger tail
                positive)
  aug_smooth    the map of each of the 6 augmentations of ttach's
                Compose([HorizontalFlip(), Multiply([0.9, 1, 1.1])]) — the
                input flipped left–right or not, times 0.9, 1 or 1.1 —
                ReLU'd, upsampled to the input and min–max normalised, the
                flipped ones flipped back, then the mean of the 6; the
                explained class stays c for every copy

Every map is then ReLU'd, upsampled (tf.image.resize, bilinear) and min–max
normalised (eps 1e-7) as tfcam's maps are; aug_smooth's mean is normalised
once more, as every tfcam map. Written as <method>-<smoothing>.npy [N,H,W]
for smoothing in eigen, aug, eigen-aug, on the first IMAGES images of the
fixtures with model.keras; scorecam not on the fixtures named in
SKIP_SCORECAM (comma-separated: bench_resnet's 160 px, 256-channel layer
would take 6·6·256 masked forward passes per case).

Usage: python scripts/reference_smooth.py OUT_DIR IMAGES SKIP_SCORECAM FIXTURE_DIR [FIXTURE_DIR ...]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import layer_view, normalise, upsample, linear_head, reference_view  # noqa: E402

SCALES = (0.9, 1.0, 1.1)
METHODS = ("gradcam", "layercam", "scorecam")


def projection(w):
    """pytorch-grad-cam's get_2d_projection of W [N,h,w,K] with tfcam's sign: [N,h,w]."""
    n, h, wd, k = w.shape
    out = np.empty((n, h, wd))
    for i in range(n):
        x = w[i].reshape(h * wd, k)
        xc = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(xc, full_matrices=True)
        p = xc @ vt[0, :]
        mean_map = x.mean(axis=1)
        if np.abs(mean_map - mean_map.mean()).max() > 1e-4 * np.abs(x).max():
            negative = (p * mean_map).sum() < 0
        else:
            negative = (p ** 3).sum() < 0
        out[i] = (-p if negative else p).reshape(h, wd)
    return out


class Case:
    """The Keras pieces one fixture's references need."""

    def __init__(self, model, meta):
        self.meta = meta
        layer = meta["default_layer"]
        lin = linear_head(model)
        self.lin = keras.Model(lin.inputs, [lin.get_layer(layer).output, lin.output])
        self.acts = keras.Model(model.inputs, model.get_layer(layer).output)
        self.model = model

    def grads(self, x, t):
        """A and d logit_t / d A on the grid, float64."""
        with tf.GradientTape() as tape:
            a, y = self.lin(tf.constant(x), training=False)
            s = tf.reduce_sum(tf.gather(tf.cast(y, tf.float32), t, batch_dims=1))
        g = tape.gradient(s, a)
        view = lambda v: layer_view(tf.cast(v, tf.float64).numpy(), self.meta)  # noqa: E731
        return view(a), view(g)

    def weighted(self, method, x, t):
        """W [N,h,w,K] of method on images x explaining classes t."""
        if method == "gradcam":
            a, g = self.grads(x, t)
            return g.mean(axis=(1, 2), keepdims=True) * a
        if method == "layercam":
            a, g = self.grads(x, t)
            return np.maximum(g, 0) * a
        a = layer_view(tf.cast(self.acts(tf.constant(x), training=False), tf.float64).numpy(), self.meta)
        n, k = len(x), a.shape[-1]
        # Channel k's mask of every image, channel-major: [K·N,H,W].
        up = upsample(np.moveaxis(a, -1, 0).reshape(k * n, *a.shape[1:3]), x.shape[1:3])
        lo = up.min(axis=(1, 2), keepdims=True)
        span = up.max(axis=(1, 2), keepdims=True) - lo
        masks = np.where(span > 0, (up - lo) / np.where(span > 0, span, 1), 0)
        masked = (np.tile(x, (k, 1, 1, 1)) * masks[..., None]).astype(np.float32)
        probs = tf.cast(self.model(tf.constant(masked), training=False), tf.float64).numpy()
        w = probs[np.arange(k * n), np.tile(t, k)].reshape(k, n).T
        return w[:, None, None, :] * a

    def cams(self, method, x, t):
        """The map of each image with and without eigen_smooth: ReLU, input
        size, min–max."""
        w = self.weighted(method, x, t)
        return {eigen: normalise(upsample(np.maximum(projection(w) if eigen else w.sum(axis=-1), 0), x.shape[1:3]))
                for eigen in (False, True)}

    def smoothed(self, method, x, t):
        """aug_smooth without and with eigen_smooth: the mean of the 6
        de-augmented maps, normalised."""
        maps = {False: [], True: []}
        for flip in (False, True):
            for f in SCALES:
                xa = (x[:, :, ::-1] if flip else x) * np.float32(f)
                for eigen, m in self.cams(method, np.ascontiguousarray(xa, np.float32), t).items():
                    maps[eigen].append(m[:, :, ::-1] if flip else m)
        return {eigen: normalise(np.mean(ms, axis=0)) for eigen, ms in maps.items()}


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    out_dir, images, skip = sys.argv[1], int(sys.argv[2]), set(sys.argv[3].split(","))
    for d in sys.argv[4:]:
        if not os.path.exists(os.path.join(d, "model.keras")):
            continue
        name = os.path.basename(os.path.normpath(d))
        od = os.path.join(out_dir, name)
        os.makedirs(od, exist_ok=True)
        meta = json.load(open(os.path.join(d, "meta.json")))
        model = keras.models.load_model(os.path.join(d, "model.keras"))
        x = np.load(os.path.join(d, "inputs.npy")).astype(np.float32)[:images]
        t = np.load(os.path.join(d, "targets.npy")).astype(np.int32)[:images]
        with reference_view(model.weights):
            case = Case(model, meta)
            for method in METHODS:
                if method == "scorecam" and name in skip:
                    continue
                aug = case.smoothed(method, x, t)
                maps = {"eigen": case.cams(method, x, t)[True], "aug": aug[False], "eigen-aug": aug[True]}
                for smoothing, m in maps.items():
                    np.save(os.path.join(od, method + "-" + smoothing + ".npy"), m.astype(np.float32))


if __name__ == "__main__":
    main()
