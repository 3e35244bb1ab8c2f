"""Reference maps for issue 16's objectives (targets beyond one class), on
the multihead fixture (scripts/build_fixtures.py: seg [N,8,8,3], reg [N,1],
emb [N,16]), from tf.GradientTape on the Keras model and numpy formulas,
with pytorch-grad-cam's target definitions:

  region          S[n,c] = sum_yx seg_logit[n,y,x,c] * (argmax_c' seg[n,y,x,c'] == c)
                  (SemanticSegmentationTarget, mask from the original
                  image's prediction, also for Score-CAM's masked copies);
                  class: the one covering most pixels
  region-classes  the same with the classes given: image i explains i mod 3
  region-mask     S[n,c] = sum_yx seg_logit[n,y,x,c] * M[y,x], M = mask.npy
                  (16x16) resized nearest to 8x8; class: most predicted
                  pixels inside M
  regression      S = [y, -y] (class 0);  regression-neg: class 1
  embedding       S[n,0] = cos(emb_n, r), r = emb(ref_image)
                  (SimilarityToConceptTarget, eps 1e-8)
  embedding-gap   the same on the gap layer's output
  contrast        S[:,c] = emb_c - emb_d, d in cases.json, c the top-1

For each: gradcam.npy / gradcam.low.npy (normalised [N,32,32] / [N,16,16])
and scorecam-pytorch.npy (pytorch-grad-cam 1.5's ScoreCAM: softmax over
channels of S[target] on the copies masked by the channels upsampled with
aligned corners, nn.UpsamplingBilinear2d, scaled by (up − min)/(max − min
+ 1e-8)), targets.npy, scores.npy (S at
the target). Also cases.json, mask.npy, ref_image.npy, ref_emb.npy,
ref_gap.npy.

Usage: python scripts/reference_targets.py OUT_DIR FIXTURE_DIR
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cam_common import normalise, upsample, upsample_corners, reference_view  # noqa: E402

CONTRAST_SEED = 16


def main():
    out, d = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    model = keras.models.load_model(os.path.join(d, "multihead.keras"))
    with reference_view(model.weights):
        run(out, d, model)


def run(out, d, model):
    x = np.load(os.path.join(d, "inputs.npy"))
    n, size = len(x), x.shape[1:3]
    seg_layer = model.get_layer("seg")
    seg_layer.activation = keras.activations.linear  # logits, as tfcam's default score
    net = keras.Model(model.inputs, [model.get_layer("last_conv").output, seg_layer.output,
                                     model.get_layer("reg").output, model.get_layer("emb").output,
                                     model.get_layer("gap").output])
    ref_image = np.random.default_rng(CONTRAST_SEED).uniform(-1, 1, (1,) + x.shape[1:]).astype(np.float32)
    _, _, _, ref_emb, ref_gap = [t.numpy().astype(np.float64) for t in net(ref_image, training=False)]
    mask16 = np.zeros((16, 16), np.float32)
    mask16[2:13, 1:9] = 1
    # Nearest (pixel centres): output cell y reads input row floor((y+.5)*16/8).
    idx = np.floor((np.arange(8) + 0.5) * 16 / 8).astype(int)
    mask8 = mask16[np.ix_(idx, idx)].astype(np.float64)

    _, seg0, _, emb0, _ = net(x, training=False)
    pred0 = tf.one_hot(tf.argmax(seg0, axis=-1), seg0.shape[-1])  # [N,8,8,C], fixed
    emb0 = emb0.numpy()
    # Contrast class: one that is no image's top-1 (so no map is flat).
    tops = set(np.argmax(emb0, 1).tolist())
    contrast = min(c for c in range(emb0.shape[1]) if c not in tops)

    def cos(e, r):
        e = tf.reshape(e, (tf.shape(e)[0], -1))
        r = tf.constant(r.reshape(1, -1), tf.float32)
        den = tf.maximum(tf.norm(e, axis=1, keepdims=True) * tf.norm(r), 1e-8)
        return tf.reduce_sum(e * r, axis=1, keepdims=True) / den

    def objective(name, outs, pred):
        _, seg, reg, emb, gap = outs
        if name in ("region", "region-classes"):
            return tf.reduce_sum(seg * pred, axis=(1, 2))
        if name == "region-mask":
            return tf.reduce_sum(seg * tf.constant(mask8[None, :, :, None], tf.float32), axis=(1, 2))
        if name in ("regression", "regression-neg"):
            y = tf.reshape(reg, (-1, 1))
            return tf.concat([y, -y], axis=1)
        if name == "embedding":
            return cos(emb, ref_emb)
        if name == "embedding-gap":
            return cos(gap, ref_gap)
        if name == "contrast":
            return emb - emb[:, contrast:contrast + 1]
        raise ValueError(name)

    pred_np = pred0.numpy()
    targets = {
        "region": np.argmax(pred_np.sum(axis=(1, 2)), 1),
        "region-classes": np.arange(n) % 3,
        "region-mask": np.argmax((pred_np * mask8[None, :, :, None]).sum(axis=(1, 2)), 1),
        "regression": np.zeros(n, int),
        "regression-neg": np.ones(n, int),
        "embedding": np.zeros(n, int),
        "embedding-gap": np.zeros(n, int),
        "contrast": np.argmax(emb0, 1),
    }
    xt = tf.constant(x)
    for name, t in targets.items():
        with tf.GradientTape() as tape:
            outs = net(xt, training=False)
            a = outs[0]
            s = objective(name, outs, pred0)
            score = tf.reduce_sum(tf.gather(s, t, batch_dims=1))
        g = tape.gradient(score, a).numpy().astype(np.float64)
        a64 = a.numpy().astype(np.float64)
        low = np.maximum((g.mean(axis=(1, 2))[:, None, None, :] * a64).sum(-1), 0)
        res = {"gradcam": normalise(upsample(low, size)), "gradcam.low": normalise(low),
               "targets": t, "scores": s.numpy()[np.arange(n), t]}
        # Score-CAM, pytorch-grad-cam's: softmax over channels of
        # S[target] on x * norm(up(A_k)), up with aligned corners; the
        # region mask stays the original image's.
        cams = []
        for i in range(n):
            ai = a64[i]
            up = upsample_corners(np.transpose(ai, (2, 0, 1)), size)
            lo = up.min(axis=(1, 2), keepdims=True)
            hi = up.max(axis=(1, 2), keepdims=True)
            masks = (up - lo) / (hi - lo + 1e-8)
            masked = tf.constant(x[i][None] * masks[..., None], tf.float32)
            k = masks.shape[0]
            sk = objective(name, net(masked, training=False), tf.repeat(pred0[i:i + 1], k, axis=0)).numpy()[:, t[i]].astype(np.float64)
            e = np.exp(sk - sk.max())
            cams.append(np.maximum(np.einsum("hwk,k->hw", ai, e / e.sum()), 0))
        res["scorecam-pytorch"] = normalise(upsample(np.stack(cams), size))
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for k, v in res.items():
            np.save(os.path.join(out, name, k + ".npy"), np.asarray(v, np.int32 if k == "targets" else np.float32))
    np.save(os.path.join(out, "mask.npy"), mask16)
    np.save(os.path.join(out, "ref_image.npy"), ref_image)
    np.save(os.path.join(out, "ref_emb.npy"), ref_emb[0].astype(np.float32))
    np.save(os.path.join(out, "ref_gap.npy"), ref_gap[0].astype(np.float32))
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"contrast": contrast, "cases": list(targets)}, f)


if __name__ == "__main__":
    main()
