"""A TF2 model written without Keras: a tf.Module saved with tf.saved_model.save.

This is how non-Keras TF2 code ships models. It covers what the Keras
fixtures do not: tf.nn.silu (a tf.custom_gradient function, so the saved
graph holds IdentityN), tf.nn.batch_normalization arithmetic, a Sigmoid head
(multi-label style), and nested tf.function calls.
"""

import numpy as np
import tensorflow as tf

from cam_common import reference_view, with_kinks

import guided

DEFAULT_LAYER = "block2_act"


class TinyNet(tf.Module):
    def __init__(self, seed):
        super().__init__(name="tinynet")
        rng = np.random.default_rng(seed)

        def var(shape, scale, name):
            return tf.Variable(rng.normal(0, scale, shape).astype(np.float32), name=name)

        self.k1 = var((3, 3, 3, 16), 0.3, "conv1/kernel")
        self.b1 = var((16,), 0.1, "conv1/bias")
        self.k2 = var((3, 3, 16, 32), 0.15, "conv2/kernel")
        self.bn_mean = var((32,), 0.1, "bn2/mean")
        self.bn_var = tf.Variable(rng.uniform(0.5, 1.5, 32).astype(np.float32), name="bn2/var")
        self.bn_gamma = tf.Variable(rng.uniform(0.8, 1.2, 32).astype(np.float32), name="bn2/gamma")
        self.bn_beta = var((32,), 0.1, "bn2/beta")
        self.fc_w = var((32, 6), 0.3, "head/kernel")
        self.fc_b = var((6,), 0.1, "head/bias")
        self.relu = tf.nn.relu

    @tf.function
    def features(self, x):
        with tf.name_scope("block1_conv"):
            y = tf.nn.bias_add(tf.nn.conv2d(x, self.k1, 1, "SAME"), self.b1)
        y = tf.identity(self.relu(y), name="block1_relu")
        y = tf.nn.max_pool2d(y, 2, 2, "VALID", name="pool1")
        with tf.name_scope("block2_conv"):
            y = tf.nn.conv2d(y, self.k2, 1, "SAME")
            y = tf.nn.batch_normalization(y, self.bn_mean, self.bn_var, self.bn_beta, self.bn_gamma, 1e-3)
        return tf.identity(tf.nn.silu(y), name=DEFAULT_LAYER)

    def logits_and_layer(self, x):
        a = self.features(x)
        p = tf.reduce_mean(a, axis=[1, 2], name="gap")
        return tf.nn.bias_add(tf.matmul(p, self.fc_w), self.fc_b, name="logits"), a

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32, name="images")])
    def serve(self, images):
        logits, _ = self.logits_and_layer(images)
        return {"scores": tf.sigmoid(logits, name="scores")}


def build_and_save(path, inputs):
    net = TinyNet(8)
    tf.saved_model.save(net, path, signatures={"serving_default": net.serve})
    # Guided reference: the same net with its ReLU swapped, traced anew.
    guided_net = TinyNet(8)
    guided_net.relu = guided.guided_relu
    with reference_view(net.variables), reference_view(guided_net.variables):
        return _references(net, guided_net, inputs)


def _references(net, guided_net, inputs, head=tf.sigmoid):
    """References for a tf.Module with logits_and_layer(x): probabilities
    (head of the logits), logits, the default layer, gradients with
    tf.GradientTape (guided_net: the same net with guided ReLUs)."""
    x = tf.constant(inputs)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits, a = net.logits_and_layer(x)
        targets = tf.argmax(logits, axis=1, output_type=tf.int32)
        score = tf.reduce_sum(tf.gather(logits, targets, batch_dims=1))
    refs = {
        "probs": head(logits).numpy(),
        "logits": logits.numpy(),
        "layer": a.numpy(),
        "grad_layer": tape.gradient(score, a).numpy(),
        "targets": targets.numpy(),
    }

    def grad_input(n):
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = tf.reduce_sum(tf.gather(n.logits_and_layer(x)[0], targets, batch_dims=1))
        return tape.gradient(s, x).numpy()

    refs["grad_input"], refs["grad_input.kinks"] = with_kinks(lambda: grad_input(net), net.variables)
    refs["guided_input"], refs["guided_input.kinks"] = with_kinks(lambda: grad_input(guided_net), guided_net.variables)
    return refs
