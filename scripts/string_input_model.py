"""A serving model that takes encoded images: a tf.Module whose signature
takes a [N] string tensor of JPEG/PNG bytes and decodes them inside the
model (tf.map_fn over decode_image → resize to 32×32 → float32 0..255), the
way TF-Serving exports that accept image bytes are written.

tfcam cuts the graph where the decoded float batch [N,32,32,3] starts and
feeds its own decoded images there; the references here are computed on
that batch with tf.GradientTape. Also written: a few JPEGs and the serving
function's own top-1 class on their bytes (serving_top1.json), which
`tfcam predict` must reproduce.
"""

import io
import json
import os

import numpy as np
import tensorflow as tf

from cam_common import reference_view

import guided
import tfmodule_model

DEFAULT_LAYER = "last_conv"
SIZE = 32
CLASSES = 4


class BytesNet(tf.Module):
    def __init__(self, seed):
        super().__init__(name="bytesnet")
        rng = np.random.default_rng(seed)

        def var(shape, scale, name):
            return tf.Variable(rng.normal(0, scale, shape).astype(np.float32), name=name)

        # conv1 keeps 3 channels: an image-shaped tensor that is no cut.
        self.k1 = var((3, 3, 3, 3), 0.3, "conv1/kernel")
        self.b1 = var((3,), 0.1, "conv1/bias")
        self.k2 = var((3, 3, 3, 16), 0.2, "last_conv/kernel")
        self.b2 = var((16,), 0.1, "last_conv/bias")
        self.fc_w = var((16, CLASSES), 3.0, "head/kernel")
        self.fc_b = var((CLASSES,), 0.01, "head/bias")
        self.relu = tf.nn.relu

    @tf.function
    def features(self, x):
        r = tf.identity(x / 127.5 - 1, name="rescale")
        with tf.name_scope("conv1"):
            y = self.relu(tf.nn.bias_add(tf.nn.conv2d(r, self.k1, 1, "SAME"), self.b1))
        # A skip from the rescaled image: conv1 is then not a cut of the graph
        # (the image reaches the output around it), which tfcam must notice.
        y = tf.add(y, tf.reduce_mean(r, axis=-1, keepdims=True), name="skip")
        y = tf.nn.max_pool2d(y, 2, 2, "VALID", name="pool1")
        with tf.name_scope("last_conv_ops"):
            y = self.relu(tf.nn.bias_add(tf.nn.conv2d(y, self.k2, 1, "SAME"), self.b2))
        return tf.identity(y, name=DEFAULT_LAYER)

    def logits_and_layer(self, x):
        a = self.features(x)
        p = tf.reduce_mean(a, axis=[1, 2], name="gap")
        return tf.nn.bias_add(tf.matmul(p, self.fc_w), self.fc_b, name="logits"), a

    @staticmethod
    def decode(images):
        def one(b):
            img = tf.io.decode_image(b, channels=3, expand_animations=False)
            return tf.image.resize(img, [SIZE, SIZE])  # float32, 0..255

        return tf.map_fn(one, images, fn_output_signature=tf.TensorSpec([SIZE, SIZE, 3], tf.float32))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve(self, image_bytes):
        logits, _ = self.logits_and_layer(self.decode(image_bytes))
        return {"probabilities": tf.nn.softmax(logits, name="probabilities")}


def jpegs(n, seed):
    """n smooth random 32×32 RGB images as JPEG bytes (at the model's size,
    so the model's resize is the identity)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        # Blocks of colour around a random tint per image, so that images
        # differ enough for the random network to tell them apart.
        base = 0.5 * rng.uniform(0, 255, (4, 4, 3)) + 0.5 * rng.uniform(0, 255, 3)
        img = np.kron(base, np.ones((8, 8, 1)))
        img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=95)
        out.append(buf.getvalue())
    return out


def build_and_save(d, n):
    """Saves the model to d/model and sample JPEGs to d/jpeg; returns the
    inputs at the cut (the model's own decoding of the JPEGs) and the
    references."""
    net = BytesNet(38)
    tf.saved_model.save(net, os.path.join(d, "model"), signatures={"serving_default": net.serve})
    data = jpegs(n, 38)
    os.makedirs(os.path.join(d, "jpeg"), exist_ok=True)
    top1 = {}
    for i, b in enumerate(data):
        name = f"{i:02d}.jpg"
        with open(os.path.join(d, "jpeg", name), "wb") as f:
            f.write(b)
        probs = net.serve(tf.constant([b]))["probabilities"].numpy()[0]
        top1[name] = {"class": int(np.argmax(probs)), "probabilities": [float(p) for p in probs]}
    with open(os.path.join(d, "serving_top1.json"), "w") as f:
        json.dump(top1, f, indent=2, sort_keys=True)
        f.write("\n")
    x = BytesNet.decode(tf.constant(data)).numpy()
    guided_net = BytesNet(38)
    guided_net.relu = guided.guided_relu
    with reference_view(net.variables), reference_view(guided_net.variables):
        return x, tfmodule_model._references(net, guided_net, x, head=tf.nn.softmax)
