"""A TF1-style flat SavedModel (tf.compat.v1 graph, SavedModelBuilder).

Covers what TF1 exporters emit and Keras does not: FusedBatchNormV3 and the
older FusedBatchNorm (v1) op, plain Relu ops named by scope, a Mean head.
The same weights are built twice, once with guided ReLU gradients through
gradient_override_map, for the reference outputs.
"""

import numpy as np
import tensorflow as tf

from cam_common import reference_view, with_kinks

v1 = tf.compat.v1
DEFAULT_LAYER = "block2/relu"


@tf.RegisterGradient("TfcamGuidedRelu")
def _guided_relu_grad(op, dy):
    return tf.where(dy > 0, tf.raw_ops.ReluGrad(gradients=dy, features=op.outputs[0]), tf.zeros_like(dy))


def _weights(seed):
    rng = np.random.default_rng(seed)
    w = {
        "conv1": rng.normal(0, 0.3, (3, 3, 3, 16)),
        "bn1": [rng.uniform(0.8, 1.2, 16), rng.normal(0, 0.1, 16), rng.normal(0, 0.1, 16), rng.uniform(0.5, 1.5, 16)],
        "conv2": rng.normal(0, 0.15, (3, 3, 16, 32)),
        "bn2": [rng.uniform(0.8, 1.2, 32), rng.normal(0, 0.1, 32), rng.normal(0, 0.1, 32), rng.uniform(0.5, 1.5, 32)],
        "fc_w": rng.normal(0, 0.3, (32, 10)),
        "fc_b": rng.normal(0, 0.1, 10),
    }
    return {k: ([a.astype(np.float32) for a in v] if isinstance(v, list) else v.astype(np.float32)) for k, v in w.items()}


def _build(w, guided):
    x = v1.placeholder(tf.float32, [None, 32, 32, 3], name="images")
    g = v1.get_default_graph()
    override = {"Relu": "TfcamGuidedRelu"} if guided else {}
    with g.gradient_override_map(override):
        with v1.variable_scope("block1"):
            k = v1.get_variable("kernel", initializer=w["conv1"])
            y = tf.nn.conv2d(x, k, strides=1, padding="SAME")
            scale, offset, mean, var = [v1.get_variable(n, initializer=a) for n, a in zip(["gamma", "beta", "mean", "var"], w["bn1"])]
            y, _, _ = v1.nn.fused_batch_norm(y, scale, offset, mean, var, is_training=False, epsilon=1e-3)
            y = tf.nn.relu(y, name="relu")
            y = tf.nn.max_pool2d(y, 2, 2, "VALID", name="pool")
        with v1.variable_scope("block2"):
            k = v1.get_variable("kernel", initializer=w["conv2"])
            y = tf.nn.conv2d(y, k, strides=1, padding="SAME")
            scale, offset, mean, var = [v1.get_variable(n, initializer=a) for n, a in zip(["gamma", "beta", "mean", "var"], w["bn2"])]
            # The v1 op on purpose: it has no C++ gradient, tfcam must rewrite it.
            y = tf.raw_ops.FusedBatchNorm(x=y, scale=scale, offset=offset, mean=mean, variance=var,
                                          epsilon=1e-3, is_training=False)[0]
            y = tf.nn.relu(y, name="relu")
        with v1.variable_scope("head"):
            p = tf.reduce_mean(y, axis=[1, 2], name="gap")
            fw = v1.get_variable("kernel", initializer=w["fc_w"])
            fb = v1.get_variable("bias", initializer=w["fc_b"])
            logits = tf.nn.bias_add(tf.matmul(p, fw), fb, name="logits")
            probs = tf.nn.softmax(logits, name="probs")
    return x, g.get_tensor_by_name(DEFAULT_LAYER + ":0"), logits, probs


class _SessionVariable:
    """A v1 variable read and written through its session, as cam_common's
    weight scaling expects of a variable."""

    def __init__(self, var, sess):
        self.var, self.sess = var, sess

    def numpy(self):
        return self.sess.run(self.var)

    def assign(self, value):
        self.var.load(value, self.sess)


def build_and_save(path, inputs):
    w = _weights(7)
    refs = {}
    with tf.Graph().as_default() as g, v1.Session(graph=g) as sess:
        x, a, logits, probs = _build(w, guided=False)
        targets = tf.argmax(logits, axis=1, output_type=tf.int32)
        t_ph = v1.placeholder(tf.int32, [None])
        score = tf.reduce_sum(tf.gather(logits, t_ph, batch_dims=1))
        ga, gx = tf.gradients(score, [a, x])
        sess.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(path)
        sig = v1.saved_model.predict_signature_def(inputs={"images": x}, outputs={"probs": probs})
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig})
        builder.save()
        variables = [_SessionVariable(v, sess) for v in v1.global_variables()]
        with reference_view(variables):
            t = sess.run(targets, {x: inputs})
            p, lg, av, gav = sess.run([probs, logits, a, ga], {x: inputs, t_ph: t})
            refs.update(probs=p, logits=lg, layer=av, grad_layer=gav, targets=t)
            refs["grad_input"], refs["grad_input.kinks"] = with_kinks(lambda: sess.run(gx, {x: inputs, t_ph: t}), variables)
    with tf.Graph().as_default() as g, v1.Session(graph=g) as sess:
        x, a, logits, probs = _build(w, guided=True)
        t_ph = v1.placeholder(tf.int32, [None])
        score = tf.reduce_sum(tf.gather(logits, t_ph, batch_dims=1))
        (gx,) = tf.gradients(score, [x])
        sess.run(v1.global_variables_initializer())
        variables = [_SessionVariable(v, sess) for v in v1.global_variables()]
        with reference_view(variables):
            refs["guided_input"], refs["guided_input.kinks"] = with_kinks(
                lambda: sess.run(gx, {x: inputs, t_ph: refs["targets"]}), variables)
    return refs
