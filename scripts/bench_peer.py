"""The Python peer for `make bench`: tf-keras-vis on the same model and batches.

Times tf-keras-vis 0.8.7 Gradcam, GradcamPlusPlus, Scorecam and its Faster
variant (max_N=10) (ReplaceToLinear, top-1
class, default layer, maps upsampled and normalised as the library does by
default) on the bench_resnet fixture's Keras model, with the same TensorFlow,
at batch sizes 1, 8 and 32, and prints Go-benchmark-style lines:

  BenchmarkPeer/tf-keras-vis/gradcam/bs08  <iterations>  <ns/op> ns/op  <images/s> images/s

Usage: python scripts/bench_peer.py FIXTURE_DIR [SECONDS_PER_CASE]
"""

import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import numpy as np
import keras
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
from tf_keras_vis.scorecam import Scorecam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore


def main():
    fixture = sys.argv[1]
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    model = keras.models.load_model(os.path.join(fixture, "model.keras"))
    layer = json.load(open(os.path.join(fixture, "meta.json")))["default_layer"]
    h, w, c = model.input_shape[1:]
    pixels = np.random.default_rng(1).uniform(-1, 1, (32, h, w, c)).astype(np.float32)
    cases = [("gradcam", Gradcam, (1, 8, 32), {}), ("gradcam++", GradcamPlusPlus, (1, 8, 32), {}),
             ("scorecam", Scorecam, (1, 8), {}), ("faster-scorecam", Scorecam, (1, 8), {"max_N": 10})]
    for name, cls, sizes, extra in cases:
        vis = cls(model, model_modifier=ReplaceToLinear(), clone=True)
        for bs in sizes:
            x = pixels[:bs]
            # Top-1 class, as tfcam's default target: one forward pass to find it.
            def run():
                top = np.argmax(model(x, training=False), axis=1).tolist()
                return vis(CategoricalScore(top), x, penultimate_layer=layer, seek_penultimate_conv_layer=False, **extra)
            run()  # warm-up (tracing)
            n, start = 0, time.perf_counter()
            while True:
                run()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= budget and n >= 3:
                    break
            print(f"BenchmarkPeer/tf-keras-vis/{name}/bs{bs:02d}\t{n}\t{elapsed / n * 1e9:.0f} ns/op\t{bs * n / elapsed:.1f} images/s", flush=True)


if __name__ == "__main__":
    main()
