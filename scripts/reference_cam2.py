"""References for the CAM-family methods added from pytorch-grad-cam 1.5.x.

pytorch-grad-cam cannot run here (no torch), so each reference is the
formula as its source defines it (pytorch_grad_cam/<method>.py), written
again in numpy/TensorFlow for NHWC tensors, independent of tfcam's Go code
and graph:

  eigengradcam         first principal component of g⊙A (eigen_grad_cam.py:
                       get_2d_projection(grads * activations)), tfcam's
                       EigenCAM sign (reference_cams.eigencam)
  gradcam-elementwise  Σ_k ReLU(g⊙A) (grad_cam_elementwise.py)
  fem                  w_k = mean_ij [A_k > mean_k + 2·std_k], population std
                       over the positions (fem.py, k = 2)
  randomcam            Σ_k w_k A_k, w = 2u − 1 ∈ [−1,1]^K with u TensorFlow's
                       stateless (Philox) uniform draw of shape [K] from seed
                       (SEED, 15): tfcam's documented draw (randomcam.go)
  kpcacam, kpcacam-rbf scikit-learn's KernelPCA(n_components=1,
                       kernel=sigmoid|rbf, gamma=None).fit_transform on the
                       per-position activation vectors centred per channel
                       (svd_on_activations.get_2d_projection_kernel), then
                       tfcam's EigenCAM sign instead of scikit-learn's

and, for the Keras fixtures (model.keras), with tf.GradientTape:

  finercam             Grad-CAM of FinerWeightedTarget (finer_cam.py,
                       model_targets.py): T = Σ_j p_j(y_c − y_j)/(Σ_j p_j + 1e-9)
                       over the 3 classes after c in argsort(|y − y_c|),
                       p = softmax(y), α = 1, y the logits; the gradient
                       flows through p
  shapleycam           w_k = mean_ij (g − ½·H·A) with H·A the gradient of
                       g (d logit / d A) with A as the output gradient
                       (shapley_cam.py: torch.autograd.grad(grads,
                       activations, grad_outputs=activations)), nested tapes
  shapleycam-prob      the same explaining the probability (softmax output)
  shapleycam-mid       shapleycam at MID_LAYERS[fixture] (logits not linear there)
  shapleycam-pool      shapleycam of the probability at POOL_LAYERS[fixture],
                       a layer below a max-pool

Maps are ReLU'd, upsampled like tfcam (tf.image.resize, bilinear) and
min–max normalised: <method>.npy at input resolution, <method>.low.npy at
the layer's.

Usage: python scripts/reference_cam2.py OUT_DIR SEED FIXTURE_DIR [FIXTURE_DIR ...]
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
from sklearn.decomposition import KernelPCA

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import layer_view, normalise, upsample, linear_head, reference_view  # noqa: E402
from reference_cams import eigencam, relu, wsum  # noqa: E402


def oriented(p, x):
    """p [P] with EigenCAM's sign for the vectors x [P,K] (reference_cams.eigencam)."""
    m = x.mean(axis=1)
    if np.abs(m - m.mean()).max() > 1e-4 * np.abs(x).max():
        flip = (p * m).sum() < 0
    else:
        flip = (p ** 3).sum() < 0
    return -p if flip else p


def kpca(a, kernel):
    n, h, w, k = a.shape
    out = np.empty((n, h, w))
    for i in range(n):
        x = a[i].reshape(h * w, k)
        p = KernelPCA(n_components=1, kernel=kernel, gamma=None).fit_transform(x - x.mean(axis=0))[:, 0]
        out[i] = oriented(p, x).reshape(h, w)
    return out


def fem(a, k=2):
    mean = a.mean(axis=(1, 2), keepdims=True)
    std = a.std(axis=(1, 2), keepdims=True)
    return wsum((a > mean + k * std).mean(axis=(1, 2)), a)


def layer_maps(a, g, random_w):
    return {
        "eigengradcam": eigencam(g * a, None),
        "gradcam-elementwise": relu(g * a).sum(-1),
        "fem": fem(a),
        "randomcam": (a * random_w).sum(-1),
        "kpcacam": kpca(a, "sigmoid"),
        "kpcacam-rbf": kpca(a, "rbf"),
        "kpcacam-linear": kpca(a, "linear"),
    }


RANDOMCAM_STREAM = 15
MID_LAYERS = {"efficientnet": "top_bn"}
POOL_LAYERS = {"vgg": "block2_conv2"}


def random_weights(seed, k):
    u = tf.raw_ops.StatelessRandomUniform(shape=[k], seed=tf.constant([seed, RANDOMCAM_STREAM], tf.int64), dtype=tf.float32)
    return 2 * u.numpy().astype(np.float64) - 1


def finer_target(y, alpha=1.0, compare=(1, 2, 3)):
    """FinerWeightedTarget per image, with pytorch-grad-cam's choice of classes."""
    yn = y.numpy()
    order = np.argsort(np.abs(yn - yn.max(axis=-1, keepdims=True)), axis=-1)
    p = tf.nn.softmax(y, axis=-1)
    total = 0.0
    for i in range(len(yn)):
        main = int(order[i, 0])
        comps = [int(order[i, j]) for j in compare if j < yn.shape[1]]
        num = sum(p[i, j] * (y[i, main] - alpha * y[i, j]) for j in comps)
        total += num / (sum(p[i, j] for j in comps) + 1e-9)
    return total


def hessian_term(net, layer, meta, x, t):
    """Activations, gradient and H·A at layer, on the grid, float64."""
    sub = keras.Model(net.inputs, [net.get_layer(layer).output, net.output])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            a, y = sub(tf.constant(x), training=False)
            score = tf.reduce_sum(tf.gather(y, t, batch_dims=1))
        g = inner.gradient(score, a)
    hv = outer.gradient(g, a, output_gradients=tf.stop_gradient(a), unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return (layer_view(v.numpy().astype(np.float64), meta) for v in (a, g, hv))


def shapley(a, g, hv):
    return wsum((g - 0.5 * hv).mean(axis=(1, 2)), a)


def model_maps(model, meta, name, x, t):
    """FinerCAM and ShapleyCAM at the default layer: {name: [N,h,w]}."""
    layer = meta["default_layer"]
    out = {}
    lin = linear_head(model)
    for label, net in [("logits", lin), ("prob", model)]:
        av, gv, hvv = hessian_term(net, layer, meta, x, t)
        out["shapleycam" if label == "logits" else "shapleycam-prob"] = shapley(av, gv, hvv)
        if label == "logits":
            sub = keras.Model(net.inputs, [net.get_layer(layer).output, net.output])
            xt = tf.constant(x)
            y = sub(xt, training=False)[1]
            assert (np.argmax(y.numpy(), axis=-1) == t).all(), "targets are not the top-1 classes"
            with tf.GradientTape() as tape:
                a, y = sub(xt, training=False)
                score = finer_target(y)
            gf = layer_view(tape.gradient(score, a).numpy().astype(np.float64), meta)
            out["finercam"] = wsum(gf.mean(axis=(1, 2)), av)
    if name in MID_LAYERS:
        out["shapleycam-mid"] = shapley(*hessian_term(lin, MID_LAYERS[name], meta, x, t))
    if name in POOL_LAYERS:
        out["shapleycam-pool"] = shapley(*hessian_term(model, POOL_LAYERS[name], meta, x, t))
    return out


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    out_dir, seed = sys.argv[1], int(sys.argv[2])
    for d in sys.argv[3:]:
        name = os.path.basename(os.path.normpath(d))
        od = os.path.join(out_dir, name)
        os.makedirs(od, exist_ok=True)
        meta = json.load(open(os.path.join(d, "meta.json")))
        a = layer_view(np.load(os.path.join(d, "layer.npy")).astype(np.float64), meta)
        g = layer_view(np.load(os.path.join(d, "grad_layer.npy")).astype(np.float64), meta)
        x = np.load(os.path.join(d, "inputs.npy"))
        t = np.load(os.path.join(d, "targets.npy")).astype(np.int32)
        maps = layer_maps(a, g, random_weights(seed, a.shape[-1]))
        if os.path.exists(os.path.join(d, "model.keras")):
            model = keras.models.load_model(os.path.join(d, "model.keras"))
            with reference_view(model.weights):
                maps.update(model_maps(model, meta, name, x, t))
        size = x.shape[1:3]
        for method, m in maps.items():
            low = relu(m)
            np.save(os.path.join(od, method + ".npy"), normalise(upsample(low, size)).astype(np.float32))
            np.save(os.path.join(od, method + ".low.npy"), normalise(low).astype(np.float32))


if __name__ == "__main__":
    main()
