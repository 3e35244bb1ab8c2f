"""Keras reference for tfcam's randomised weights (sanity checks, issue 16):
the fixture's Keras model with some weights replaced, run on inputs.

Given a fixture directory with model.keras and a work directory holding

  inputs.npy   float32 [N,H,W,C] images
  vars.txt     one line per replaced weight: "<layer>/<weight>\t<file>.npy"
               (the Keras variable path and the new value, float32)

writes WORK/keras_output.npy: the model's output (its own head, as the
SavedModel signature returns it) on the inputs with those weights set by
Variable.assign — the values tfcam fed for the variables' reads.

Usage: python scripts/reference_sanity.py FIXTURE_DIR WORK_DIR
"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import numpy as np
import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_layers  # noqa: F401,E402  (registers custom layers for load_model)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fixture, work = sys.argv[1:]
    model = keras.models.load_model(os.path.join(fixture, "model.keras"))
    by_path = {v.path: v for v in model.weights}
    with open(os.path.join(work, "vars.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            path, file = line.rstrip("\n").split("\t")
            if path not in by_path:
                raise SystemExit(f"{path}: not a weight of the model (have {sorted(by_path)})")
            v = by_path[path]
            value = np.load(os.path.join(work, file))
            if tuple(value.shape) != tuple(v.shape):
                raise SystemExit(f"{path}: value of shape {value.shape} for a weight of shape {tuple(v.shape)}")
            v.assign(value.astype(np.float32))
    x = np.load(os.path.join(work, "inputs.npy")).astype(np.float32)
    np.save(os.path.join(work, "keras_output.npy"), np.asarray(model(x, training=False), np.float32))


if __name__ == "__main__":
    main()
