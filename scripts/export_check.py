"""Runs a `tfcam export` SavedModel the ways a TensorFlow user would, for
the Go test that compares it with tfcam (TestExportMatchesExplain).

    export_check.py [--ways=explain,class,tfdata,tfsm] EXPORT ORIGINAL INPUTS.npy CLASSES.npy OUT [JPEG...]

Writes float32 .npy files to OUT, one per output key:
  explain_KEY       signatures["explain"] on INPUTS (float32, as tfcam feeds)
  class_KEY         signatures["explain_class"] on INPUTS and CLASSES
  tfdata_KEY        signatures["explain"] mapped over a tf.data pipeline of
                    INPUTS in batches of 2, concatenated
  tfsm_KEY          keras.layers.TFSMLayer(EXPORT, call_endpoint="explain")
  serving_KEY       the export's serving_default on the serving input
  original_KEY      ORIGINAL's serving_default on the same input
The serving input is INPUTS cast to the signature's dtype, or, for a model
that takes encoded images, the JPEG files given after OUT. --ways chooses
among the first four (default: all); serving_default always runs.
"""

import os
import sys

import numpy as np
import tensorflow as tf


def save(out, name, value):
    np.save(os.path.join(out, name + ".npy"), np.asarray(value, dtype=np.float32))


def input_key(fn):
    keys = list(fn.structured_input_signature[1].keys())
    return keys


def main():
    args = sys.argv[1:]
    ways = {"explain", "class", "tfdata", "tfsm"}
    if args and args[0].startswith("--ways="):
        ways = set(args.pop(0)[len("--ways="):].split(","))
    export, original, inputs, classes, out = args[:5]
    jpegs = args[5:]
    x = np.load(inputs).astype(np.float32)
    cls = np.load(classes).astype(np.int32)
    os.makedirs(out, exist_ok=True)
    loaded = tf.saved_model.load(export)
    explain = loaded.signatures["explain"]
    (key,) = input_key(explain)
    if "explain" in ways:
        for k, v in explain(**{key: tf.constant(x)}).items():
            save(out, "explain_" + k, v.numpy())
    if "class" in ways:
        explain_class = loaded.signatures["explain_class"]
        for k, v in explain_class(**{key: tf.constant(x), "class": tf.constant(cls)}).items():
            save(out, "class_" + k, v.numpy())

    if "tfdata" in ways:
        # A tf.data pipeline mapping batches through the signature.
        ds = tf.data.Dataset.from_tensor_slices(x).batch(2).map(lambda b: explain(**{key: b}))
        parts = {}
        for batch in ds:
            for k, v in batch.items():
                parts.setdefault(k, []).append(v.numpy())
        for k, v in parts.items():
            save(out, "tfdata_" + k, np.concatenate(v))

    if "tfsm" in ways:
        # Keras 3's layer for SavedModels.
        import keras

        layer = keras.layers.TFSMLayer(export, call_endpoint="explain")
        for k, v in layer(tf.constant(x)).items():
            save(out, "tfsm_" + k, np.asarray(v))

    # serving_default, unchanged: the export's against the original's.
    orig = tf.saved_model.load(original)
    for name, model in (("serving_", loaded), ("original_", orig)):
        fn = model.signatures["serving_default"]
        (skey,) = input_key(fn)
        spec = fn.structured_input_signature[1][skey]
        if spec.dtype == tf.string:
            feed = tf.constant([open(p, "rb").read() for p in jpegs])
        else:
            feed = tf.cast(tf.constant(x), spec.dtype)
        for k, v in fn(**{skey: feed}).items():
            save(out, name + k, v.numpy())


if __name__ == "__main__":
    main()
