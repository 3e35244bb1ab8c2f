"""Builds tfcam's fixture models and their Python reference outputs.

Run by `make setup` (never downloads anything). Every model is built from a
fixed seed, saved the way users save models, and written next to the numbers
the Go tests compare against:

  <out>/<name>/model/        the SavedModel
  <out>/<name>/meta.json     how it was saved, input size, default layer, ...
  <out>/<name>/inputs.npy    a float32 batch [N,H,W,C]
  <out>/<name>/probs.npy     the signature's output for inputs.npy
  <out>/<name>/logits.npy    the pre-softmax scores
  <out>/<name>/grad_layer.npy   d logit[target] / d layer output (default layer)
  <out>/<name>/layer.npy        the default layer's activations
  <out>/<name>/grad_input.npy   d logit[target] / d input
  <out>/<name>/guided_input.npy the same with guided ReLUs (tf.custom_gradient)
  <out>/<name>/grad_input.kinks.npy, guided_input.kinks.npy  the same on the
                                kink variants of the weights (cam_common.py)
  <out>/<name>/targets.npy      int32 target class per image (argmax)
  <out>/<name>/model.keras      Keras fixtures: the model for tf-keras-vis/Xplique

bad_* fixtures are models tfcam must refuse with a clear error; they have
only model/.

The whole tree is written to <out>.tmp and renamed, so a half-built fixture
set never looks complete.

Usage: python scripts/build_fixtures.py OUT_DIR [--only NAME,...]
"""

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import tensorflow as tf
import keras
from keras import layers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402
import guided  # noqa: E402
import vit_layers  # noqa: E402
from cam_common import reference_view, with_kinks  # noqa: E402

N_INPUTS = 6


def seed_all(seed):
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# ---------------------------------------------------------------- models


def shapes_model():
    inp = keras.Input((64, 64, 3), name="images")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(len(shapes.CLASSES), activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="shapes_cnn")


def resnet_model():
    def bn_relu(x, name):
        x = layers.BatchNormalization(name=name + "_bn")(x)
        return layers.Activation("relu", name=name + "_relu")(x)

    def block(x, filters, stride, name):
        shortcut = x
        if stride != 1 or x.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride, name=name + "_0_conv")(x)
            shortcut = layers.BatchNormalization(name=name + "_0_bn")(shortcut)
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=name + "_1_conv")(x)
        y = bn_relu(y, name + "_1")
        y = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(y)
        y = layers.BatchNormalization(name=name + "_2_bn")(y)
        y = layers.Add(name=name + "_add")([shortcut, y])
        return layers.Activation("relu", name=name + "_out")(y)

    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Conv2D(16, 3, padding="same", name="conv1_conv")(inp)
    x = bn_relu(x, "conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    x = block(x, 16, 1, "conv2_block1")
    x = block(x, 32, 2, "conv3_block1")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="resnet_small")


def bench_resnet_model():
    """A ResNet-18-like model at 160 px for `make bench` (random weights)."""
    def block(x, filters, stride, name):
        shortcut = x
        if stride != 1 or x.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_0_conv")(x)
            shortcut = layers.BatchNormalization(name=name + "_0_bn")(shortcut)
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_1_conv")(x)
        y = layers.BatchNormalization(name=name + "_1_bn")(y)
        y = layers.Activation("relu", name=name + "_1_relu")(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_2_conv")(y)
        y = layers.BatchNormalization(name=name + "_2_bn")(y)
        y = layers.Add(name=name + "_add")([shortcut, y])
        return layers.Activation("relu", name=name + "_out")(y)

    inp = keras.Input((160, 160, 3), name="images")
    x = layers.Conv2D(32, 7, strides=2, padding="same", use_bias=False, name="conv1_conv")(inp)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    for stage, (filters, stride) in enumerate([(32, 1), (64, 2), (128, 2), (256, 2)], start=2):
        x = block(x, filters, stride, f"conv{stage}_block1")
        x = block(x, filters, 1, f"conv{stage}_block2")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="bench_resnet")


def mobilenet_model():
    def inverted(x, expand, filters, stride, name):
        inp = x
        y = layers.Conv2D(x.shape[-1] * expand, 1, use_bias=False, name=name + "_expand")(x)
        y = layers.BatchNormalization(name=name + "_expand_BN")(y)
        y = layers.Activation("relu6", name=name + "_expand_relu")(y)
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=name + "_depthwise")(y)
        y = layers.BatchNormalization(name=name + "_depthwise_BN")(y)
        y = layers.Activation("relu6", name=name + "_depthwise_relu")(y)
        y = layers.Conv2D(filters, 1, use_bias=False, name=name + "_project")(y)
        y = layers.BatchNormalization(name=name + "_project_BN")(y)
        if stride == 1 and inp.shape[-1] == filters:
            y = layers.Add(name=name + "_add")([inp, y])
        return y

    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="Conv1")(inp)
    x = layers.BatchNormalization(name="bn_Conv1")(x)
    x = layers.Activation("relu6", name="Conv1_relu")(x)
    x = inverted(x, 4, 16, 1, "block_1")
    x = inverted(x, 4, 24, 2, "block_2")
    x = layers.Conv2D(64, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(name="Conv_1_bn")(x)
    x = layers.Activation("relu6", name="out_relu")(x)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="mobilenetv2_small")


def efficientnet_model():
    def mbconv(x, filters, stride, name):
        inp = x
        ch = x.shape[-1] * 4
        y = layers.Conv2D(ch, 1, use_bias=False, name=name + "expand_conv")(x)
        y = layers.BatchNormalization(name=name + "expand_bn")(y)
        y = layers.Activation("swish", name=name + "expand_activation")(y)
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=name + "dwconv")(y)
        y = layers.BatchNormalization(name=name + "bn")(y)
        y = layers.Activation("swish", name=name + "activation")(y)
        se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(y)
        se = layers.Reshape((1, 1, ch), name=name + "se_reshape")(se)
        se = layers.Conv2D(max(1, ch // 4), 1, activation="swish", name=name + "se_reduce")(se)
        se = layers.Conv2D(ch, 1, activation="sigmoid", name=name + "se_expand")(se)
        y = layers.Multiply(name=name + "se_excite")([y, se])
        y = layers.Conv2D(filters, 1, use_bias=False, name=name + "project_conv")(y)
        y = layers.BatchNormalization(name=name + "project_bn")(y)
        if stride == 1 and inp.shape[-1] == filters:
            y = layers.Add(name=name + "add")([inp, y])
        return y

    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)
    x = mbconv(x, 16, 1, "block1a_")
    x = mbconv(x, 24, 2, "block2a_")
    x = layers.Conv2D(64, 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="efficientnet_small")


def rescaling_model():
    """A CNN that scales its 0..255 input itself (a Keras Rescaling layer,
    as keras.applications' EfficientNet and many user models do): tfcam
    must feed it raw pixels, not [0,1] ones (issue 28)."""
    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inp)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(4, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="rescaling_cnn")


def vgg_model():
    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="block1_conv1")(inp)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="block1_conv2")(x)
    x = layers.MaxPooling2D(name="block1_pool")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="block2_conv1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="block2_conv2")(x)
    x = layers.MaxPooling2D(name="block2_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="fc1")(x)
    out = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="vgg_small")


def open_size_model():
    """A small CNN that takes images of any size (input [N,?,?,3]), exported
    as such: tfcam needs the size given (LoadOptions.InputSize, --size)."""
    inp = keras.Input(shape=(None, None, 3), name="image")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="open_size")


def vit_model():
    """A tiny Vision Transformer from Keras layers: 8-px patches of a 32-px
    image (a 4×4 grid), a class token, two pre-norm encoder blocks
    (LayerNormalization, MultiHeadAttention, GELU MLP, residual adds) and a
    head on the class token. The target layer pytorch-grad-cam recommends is
    the first norm of the last block (block2_norm1): after its attention
    only the class token reaches the head. One residual add is Python's
    `+` (a Keras op, not a layer), as in most ViT code: tfcam must still
    name it as Keras does."""
    dim = 32
    inp = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(dim, 8, strides=8, name="patch_embed")(inp)  # [N,4,4,32]
    x = layers.Reshape((16, dim), name="patch_tokens")(x)
    x = vit_layers.ClassToken(name="tokens")(x)  # [N,17,32]
    for b in (1, 2):
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{b}_norm1")(x)
        y = layers.MultiHeadAttention(num_heads=2, key_dim=16, name=f"block{b}_attn")(y, y)
        x = layers.Add(name=f"block{b}_add1")([x, y])
        y = layers.LayerNormalization(epsilon=1e-6, name=f"block{b}_norm2")(x)
        y = layers.Dense(2 * dim, activation="gelu", name=f"block{b}_mlp1")(y)
        y = layers.Dense(dim, name=f"block{b}_mlp2")(y)
        x = x + y if b == 1 else layers.Add(name=f"block{b}_add2")([x, y])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.Cropping1D((0, 16), name="class_token")(x)  # [N,1,32]
    x = layers.Flatten(name="pre_logits")(x)
    out = layers.Dense(5, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="vit_tiny")


def build_vit(out):
    seed_all(10)
    model = vit_model()
    keras_fixture(out, "vit", model, save_keras_export, "block2_norm1", random_inputs((32, 32, 3), 10),
                  # tail_layer: a token layer that is the only path to the
                  # head (not bypassed by a residual), for Ablation-CAM's
                  # reference (reference_more.py).
                  extra_meta={"tokens": {"drop": 1, "grid": [4, 4]}, "tail_layer": "tokens"})


def build_open_size(out):
    seed_all(7)
    model = open_size_model()
    keras_fixture(out, "open_size", model, save_keras_export, "conv2", random_inputs((48, 48, 3), 7),
                  extra_meta={"input_size": [48, 48, 3], "open_size": True})


def randomize_batchnorm(model, rng):
    """Gives BatchNorm layers non-trivial moving statistics, as a trained model has."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.1, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            layer.gamma.assign(rng.uniform(0.8, 1.2, n).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.1, n).astype(np.float32))


# ---------------------------------------------------------------- saving


def save_keras_export(model, path):
    model.export(path, verbose=False)


# ---------------------------------------------------------------- references


def keras_references(model, layer_name, x):
    """Logits, probabilities and gradients computed with tf.GradientTape
    (with the weights as the references see them, cam_common.reference_view);
    the input gradients also on the kink variants (<name>.kinks, cam_common)."""
    with reference_view(model.weights):
        return _keras_references(model, layer_name, x)


def _keras_references(model, layer_name, x):
    head = model.layers[-1]
    act = head.activation
    head.activation = keras.activations.linear  # softmax -> linear, as tf-keras-vis
    try:
        sub = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])
        xt = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            a, logits = sub(xt, training=False)
            targets = tf.argmax(logits, axis=1, output_type=tf.int32)
            score = tf.reduce_sum(tf.gather(logits, targets, batch_dims=1))
        grad_layer = tape.gradient(score, a)

        def grad_input():
            with tf.GradientTape() as tape:
                tape.watch(xt)
                s = tf.reduce_sum(tf.gather(model(xt, training=False), targets, batch_dims=1))
            return tape.gradient(s, xt).numpy()

        def guided_input():
            with guided.relus_guided(model):
                return grad_input()

        grad_in, grad_in_kinks = with_kinks(grad_input, model.weights)
        guided_in, guided_in_kinks = with_kinks(guided_input, model.weights)
    finally:
        head.activation = act
    probs = model(xt, training=False)
    return {
        "probs": probs.numpy(),
        "logits": logits.numpy(),
        "layer": a.numpy(),
        "grad_layer": grad_layer.numpy(),
        "grad_input": grad_in,
        "grad_input.kinks": grad_in_kinks,
        "guided_input": guided_in,
        "guided_input.kinks": guided_in_kinks,
        "targets": targets.numpy(),
    }


def write_fixture(out, name, model_dir_writer, meta, refs, inputs):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model_dir_writer(os.path.join(d, "model"))
    np.save(os.path.join(d, "inputs.npy"), inputs.astype(np.float32))
    for k, v in refs.items():
        np.save(os.path.join(d, k + ".npy"), v.astype(np.int32 if k == "targets" else np.float32))
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")


def keras_fixture(out, name, model, saver, default_layer, inputs, extra_meta=None):
    refs = keras_references(model, default_layer, inputs)
    h, w, c = model.input_shape[1:]
    meta = {
        "name": name,
        "saved_with": saver.__name__.replace("save_", ""),
        "tags": ["serve"],
        "signature": "serving_default",
        "input_size": [h, w, c],
        "classes": int(model.output_shape[-1]),
        "default_layer": default_layer,
        "head": "softmax",
    }
    meta.update(extra_meta or {})
    write_fixture(out, name, lambda p: saver(model, p), meta, refs, inputs)
    # The Keras model itself, for the third-party libraries (tf-keras-vis,
    # Xplique) that need one.
    model.save(os.path.join(out, name, "model.keras"))
    print(f"  {name}: saved ({meta['saved_with']}), {model.count_params()} params", flush=True)



# SETUP_NOISE are TensorFlow's lines that read like failures of the set-up
# and are not: Keras 3 trains and evaluates arrays through a tf.data map
# whose graph carries an attribute TensorFlow 2.18's kernels do not know
# (level E, "may be expected ... will be ignored"); Abseil's two lines on a
# first graph run, which no variable silences. (TensorFlow's Python
# deprecation notices for the TF1 API the tf1 fixtures use on purpose are
# silenced in main, through its logger.)
SETUP_NOISE = (
    "use_unbounded_threadpool",
    "All log messages before absl::InitializeLog() is called",
    "mlir_graph_optimization_pass.cc",
)


@contextlib.contextmanager
def without_stderr_lines(*needles):
    """Runs the block with file descriptor 2 captured, then passes on every
    line but those containing one of needles: TensorFlow's C++ code writes
    there directly, so Python's sys.stderr cannot filter it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read().decode(errors="replace").splitlines(keepends=True):
                if not any(n in line for n in needles):
                    sys.stderr.write(line)
            sys.stderr.flush()


# ---------------------------------------------------------------- fixtures


def build_shapes(out):
    seed_all(1)
    x_train, y_train, _ = shapes.make(6000, seed=11)
    x_val, y_val, _ = shapes.make(500, seed=12)
    x_eval, y_eval, b_eval = shapes.make(200, seed=13)
    model = shapes_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for epoch in range(20):
        model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0, shuffle=True)
        _, acc = model.evaluate(x_val, y_val, verbose=0)
        print(f"  shapes: epoch {epoch + 1} val accuracy {acc:.3f}", flush=True)
        if epoch >= 5 and acc >= 0.985:
            break
    _, acc = model.evaluate(x_eval, y_eval, verbose=0)
    print(f"  shapes: held-out accuracy {acc:.3f}", flush=True)
    if acc < 0.95:
        raise SystemExit(f"shapes model reached only {acc:.3f} held-out accuracy (need >= 0.95)")
    keras_fixture(out, "shapes", model, save_keras_export, "last_conv", x_eval[:N_INPUTS],
                  {"eval_accuracy": float(acc), "labels": shapes.CLASSES, "preprocess": "unit"})
    d = os.path.join(out, "shapes")
    np.save(os.path.join(d, "eval_images.npy"), x_eval)
    np.save(os.path.join(d, "eval_labels.npy"), y_eval)
    np.save(os.path.join(d, "eval_boxes.npy"), b_eval)
    with open(os.path.join(d, "labels.txt"), "w") as f:
        f.write("\n".join(shapes.CLASSES) + "\n")
    # The same evaluation set as image files with their boxes, for
    # `tfcam eval --boxes eval/boxes.csv eval` (8-bit PNGs: x*255 rounded).
    from PIL import Image

    ev = os.path.join(d, "eval")
    os.makedirs(ev, exist_ok=True)
    with open(os.path.join(ev, "boxes.csv"), "w") as f:
        f.write("image,x0,y0,x1,y1\n")
        for i, (img, box) in enumerate(zip(x_eval, b_eval)):
            name = f"{i:03d}.png"
            Image.fromarray(np.round(img * 255).astype(np.uint8)).save(os.path.join(ev, name))
            f.write(f"{name},{box[0]},{box[1]},{box[2]},{box[3]}\n")


def random_inputs(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, (N_INPUTS,) + tuple(shape)).astype(np.float32)


def build_arch(out, name, ctor, saver, layer, seed):
    seed_all(seed)
    model = ctor()
    randomize_batchnorm(model, np.random.default_rng(seed))
    keras_fixture(out, name, model, saver, layer, random_inputs(model.input_shape[1:], seed))


def build_tfmodule(out):
    import tfmodule_model

    x = random_inputs((32, 32, 3), 8)
    refs = tfmodule_model.build_and_save(os.path.join(out, "tfmodule", "model"), x)
    meta = {
        "name": "tfmodule",
        "saved_with": "tf_saved_model",
        "tags": ["serve"],
        "signature": "serving_default",
        "input_size": [32, 32, 3],
        "classes": 6,
        "default_layer": tfmodule_model.DEFAULT_LAYER,
        "head": "sigmoid",
    }
    write_fixture(out, "tfmodule", lambda p: None, meta, refs, x)
    print("  tfmodule: saved (tf.saved_model.save of a tf.Module)", flush=True)


def build_keras_tfsave(out):
    """A Keras 3 model saved with tf.saved_model.save: C++ loaders (TF Serving,
    the C API) cannot restore its variables. Kept to test tfcam's error."""
    seed_all(9)
    model = vgg_model()
    d = os.path.join(out, "bad_keras_tfsave")
    os.makedirs(d, exist_ok=True)
    tf.saved_model.save(model, os.path.join(d, "model"))
    print("  bad_keras_tfsave: saved (tf.saved_model.save of a Keras 3 model)", flush=True)


def build_tf1(out):
    import tf1_model

    x = random_inputs((32, 32, 3), 7)
    refs = tf1_model.build_and_save(os.path.join(out, "tf1_flat", "model"), x)
    meta = {
        "name": "tf1_flat",
        "saved_with": "tf1_saved_model_builder",
        "tags": ["serve"],
        "signature": "serving_default",
        "input_size": [32, 32, 3],
        "classes": 10,
        "default_layer": tf1_model.DEFAULT_LAYER,
        "head": "softmax",
    }
    write_fixture(out, "tf1_flat", lambda p: None, meta, refs, x)
    print("  tf1_flat: saved (SavedModelBuilder)", flush=True)


def small_cnn_layers():
    """The body the dtype fixtures share: two ReLU convolutions, a max pool,
    a last convolution (the default layer), global average pooling."""
    return [
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv"),
        layers.GlobalAveragePooling2D(name="gap"),
    ]


def apply_layers(x, stack):
    for layer in stack:
        x = layer(x)
    return x


def small_cnn(x):
    return apply_layers(x, small_cnn_layers())


def dtype_meta(name, classes, **extra):
    """meta.json of the 32-px Keras fixtures of issue 14 (default layer
    last_conv, softmax head)."""
    meta = {
        "name": name, "saved_with": "keras_export", "tags": ["serve"],
        "signature": "serving_default", "input_size": [32, 32, 3], "classes": classes,
        "default_layer": "last_conv", "head": "softmax",
    }
    meta.update(extra)
    return meta


def build_mixed_float16(out):
    """A CNN built under keras' mixed_float16 policy, the usual way to train
    and serve on GPUs: float32 input and variables, every layer computing in
    float16, including the softmax head, so the signature output is float16
    too (tfcam casts the scores to float32)."""
    seed_all(21)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inp = keras.Input((32, 32, 3), name="images")
        x = small_cnn(inp)
        out_t = layers.Dense(6, activation="softmax", name="predictions")(x)
        model = keras.Model(inp, out_t, name="mixed_cnn")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    x = random_inputs((32, 32, 3), 21)
    refs = keras_references(model, "last_conv", x)
    meta = dtype_meta("mixed_float16", 6, dtype="float16")
    write_fixture(out, "mixed_float16", lambda p: save_keras_export(model, p), meta, refs, x)
    model.save(os.path.join(out, "mixed_float16", "model.keras"))
    print(f"  mixed_float16: saved (keras_export, mixed_float16), {model.count_params()} params", flush=True)


def build_uint8_input(out):
    """A CNN whose signature takes uint8 pixels [N,32,32,3] (keras.Input
    dtype uint8, then Rescaling): the TF-Serving style. The references
    come from its float32 twin (the same layers on a float32 input), which
    computes the same for integer pixel values and has an input gradient."""
    seed_all(22)
    shared = [layers.Rescaling(1 / 127.5, offset=-1, name="rescale")] + small_cnn_layers() + [
        layers.Dense(5, activation="softmax", name="predictions")]
    u8 = keras.Input((32, 32, 3), dtype="uint8", name="image_uint8")
    f32 = keras.Input((32, 32, 3), name="image_float")
    # The twin first: the layers' .output (which the references read) are
    # their first call's.
    twin = keras.Model(f32, apply_layers(f32, shared), name="uint8_cnn_float_twin")
    served = keras.Model(u8, apply_layers(u8, shared), name="uint8_cnn")
    rng = np.random.default_rng(22)
    x = rng.integers(0, 256, (N_INPUTS, 32, 32, 3)).astype(np.float32)
    refs = keras_references(twin, "last_conv", x)
    served_probs = served(x.astype(np.uint8), training=False).numpy()
    if not np.array_equal(served_probs, refs["probs"]):
        raise SystemExit("uint8_input: the uint8 model and its float twin disagree")
    meta = dtype_meta("uint8_input", 5, dtype="uint8")
    write_fixture(out, "uint8_input", lambda p: save_keras_export(served, p), meta, refs, x)
    # For the Python references of the other methods: the float32 twin,
    # which is what tfcam runs (float32 pixels in place of the cast).
    twin.save(os.path.join(out, "uint8_input", "model.keras"))
    print(f"  uint8_input: saved (keras_export, uint8 input), {served.count_params()} params", flush=True)


def build_two_outputs(out):
    """A CNN with two outputs, class probabilities and an embedding, both
    float32 [N,k]: tfcam must be told which to explain (meta "output")."""
    seed_all(23)
    inp = keras.Input((32, 32, 3), name="images")
    feats = small_cnn(inp)
    probs = layers.Dense(7, activation="softmax", name="predictions")(feats)
    emb = layers.Dense(12, name="embedding")(feats)
    model = keras.Model(inp, [probs, emb], name="two_heads")
    # The classifier alone (same layers) for the references.
    clf = keras.Model(inp, probs, name="two_heads_classifier")
    x = random_inputs((32, 32, 3), 23)
    refs = keras_references(clf, "last_conv", x)
    meta = dtype_meta("two_outputs", 7, output="output_0")
    write_fixture(out, "two_outputs", lambda p: save_keras_export(model, p), meta, refs, x)
    emb_ref = model(x, training=False)[1].numpy()
    np.save(os.path.join(out, "two_outputs", "embedding.npy"), emb_ref.astype(np.float32))
    print(f"  two_outputs: saved (keras_export, 2 outputs), {model.count_params()} params", flush=True)


def build_string_input(out):
    """A tf.Module serving JPEG/PNG bytes ([N] string), decoded inside the
    model (scripts/string_input_model.py); inputs.npy is the model's own
    decoding of its JPEGs, the batch tfcam feeds at the cut."""
    import string_input_model as sim

    d = os.path.join(out, "string_input")
    os.makedirs(d, exist_ok=True)
    x, refs = sim.build_and_save(d, N_INPUTS)
    meta = {
        "name": "string_input", "saved_with": "tf_saved_model", "tags": ["serve"],
        "signature": "serving_default", "input_size": [sim.SIZE, sim.SIZE, 3], "classes": sim.CLASSES,
        "default_layer": sim.DEFAULT_LAYER, "head": "softmax", "dtype": "string",
    }
    write_fixture(out, "string_input", lambda p: None, meta, refs, x)
    print("  string_input: saved (tf.saved_model.save of a tf.Module taking JPEG bytes)", flush=True)


def build_bad_uint8(out):
    """A signature taking uint8 pixels that the model reads other than by a
    cast to float (a bit shift): tfcam must refuse it, naming the tensor."""
    class Shifted(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(5).normal(0, 0.1, (3, 4)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.uint8, name="pixels")])
        def serve(self, pixels):
            x = tf.cast(tf.bitwise.right_shift(pixels, tf.constant(1, tf.uint8)), tf.float32)
            return {"scores": tf.nn.softmax(tf.matmul(tf.reduce_mean(x, axis=[1, 2]), self.w))}

    m = Shifted()
    d = os.path.join(out, "bad_uint8_shift")
    os.makedirs(d, exist_ok=True)
    tf.saved_model.save(m, os.path.join(d, "model"), signatures={"serving_default": m.serve})
    print("  bad_uint8_shift: saved (uint8 input read by a bit shift)", flush=True)


def build_multihead(out):
    """Issue 16's targets beyond one class: one tiny CNN with three outputs,
    a segmentation head seg [N,8,8,3] (softmax over classes per cell), a
    regression head reg [N,1] and an embedding emb [N,16]. meta "output"
    selects emb (output_2), so the generic parity tests explain it as a
    16-column linear model; scripts/reference_targets.py checks the
    region, regression, embedding and contrastive objectives on it."""
    seed_all(24)
    inp = keras.Input((32, 32, 3), name="images")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    x = layers.MaxPooling2D(name="pool1")(x)
    feats = layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    seg = layers.Conv2D(3, 1, activation="softmax", name="seg")(layers.MaxPooling2D(name="pool2")(feats))
    pooled = layers.GlobalAveragePooling2D(name="gap")(feats)
    reg = layers.Dense(1, name="reg")(pooled)
    emb = layers.Dense(16, name="emb")(pooled)
    model = keras.Model(inp, [seg, reg, emb], name="multihead")
    # The embedding head alone (same layers): what output_2 computes.
    # No model.keras: the peer and Score-CAM references that load it
    # assume a softmax head (tf-keras-vis's Scorecam applies the softmax
    # itself), which an embedding is not; they skip this fixture, and
    # scripts/reference_targets.py reads multihead.keras.
    emb_model = keras.Model(inp, emb, name="multihead_emb")
    x_in = random_inputs((32, 32, 3), 24)
    refs = keras_references(emb_model, "last_conv", x_in)
    meta = dtype_meta("multihead", 16, output="output_2", head="linear")
    write_fixture(out, "multihead", lambda p: save_keras_export(model, p), meta, refs, x_in)
    model.save(os.path.join(out, "multihead", "multihead.keras"))
    print(f"  multihead: saved (keras_export, 3 outputs), {model.count_params()} params", flush=True)


FIXTURES = {
    "shapes": build_shapes,
    "resnet": lambda out: build_arch(out, "resnet", resnet_model, save_keras_export, "conv3_block1_out", 2),
    "mobilenet": lambda out: build_arch(out, "mobilenet", mobilenet_model, save_keras_export, "out_relu", 3),
    "efficientnet": lambda out: build_arch(out, "efficientnet", efficientnet_model, save_keras_export, "top_activation", 4),
    "vgg": lambda out: build_arch(out, "vgg", vgg_model, save_keras_export, "block2_pool", 5),
    "bench_resnet": lambda out: build_arch(out, "bench_resnet", bench_resnet_model, save_keras_export, "conv5_block2_out", 6),
    "rescaling": lambda out: build_arch(out, "rescaling", rescaling_model, save_keras_export, "conv", 7),
    "open_size": build_open_size,
    "vit": build_vit,
    "tfmodule": build_tfmodule,
    "tf1_flat": build_tf1,
    "bad_keras_tfsave": build_keras_tfsave,
    "mixed_float16": build_mixed_float16,
    "uint8_input": build_uint8_input,
    "two_outputs": build_two_outputs,
    "string_input": build_string_input,
    "bad_uint8_shift": build_bad_uint8,
    "multihead": build_multihead,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--only", default="", help="comma-separated fixture names (default: all)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        raise SystemExit(f"unknown fixture(s) {unknown}; known: {list(FIXTURES)}")
    tf.config.threading.set_inter_op_parallelism_threads(2)
    tf.get_logger().setLevel("ERROR")
    tmp = args.out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for n in names:
        print(f"building fixture {n}", flush=True)
        with without_stderr_lines(*SETUP_NOISE):
            FIXTURES[n](tmp)
    if os.path.isdir(args.out) and args.only:
        # Partial rebuild: replace only the named fixtures.
        for n in names:
            shutil.rmtree(os.path.join(args.out, n), ignore_errors=True)
            os.rename(os.path.join(tmp, n), os.path.join(args.out, n))
        shutil.rmtree(tmp)
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        os.rename(tmp, args.out)
    print(f"fixtures written to {args.out}")


if __name__ == "__main__":
    main()
