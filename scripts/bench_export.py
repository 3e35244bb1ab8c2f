"""`make bench`'s row for `tfcam export`: the exported SavedModel's
"explain" signature run from Python, beside tfcam's own runs of the same
graph (BenchmarkExplain) and the model's plain inference.

Loads EXPORT with tf.saved_model.load, wraps the signature in a
tf.function (as a tf.data or Keras pipeline calls it), and times it at batch
sizes 1, 8 and 32 on the same random pixels as the Go benchmarks, then the
export's serving_default (plain inference from Python). Prints
Go-benchmark-style lines, one method per export:

  BenchmarkPeer/export-from-python/gradcam/bs08  <iterations>  <ns/op> ns/op  <images/s> images/s

Usage: python scripts/bench_export.py EXPORT METHOD [SECONDS_PER_CASE]
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf


def timed(name, fn, x, bs, budget):
    fn(x)  # warm-up (tracing, Grappler)
    n, start = 0, time.perf_counter()
    while True:
        out = fn(x)
        for v in out.values():
            v.numpy()  # the results in host memory, as tfcam fetches them
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget and n >= 3:
            break
    print(f"BenchmarkPeer/{name}/bs{bs:02d}\t{n}\t{elapsed / n * 1e9:.0f} ns/op\t{bs * n / elapsed:.1f} images/s", flush=True)


def main():
    export, method = sys.argv[1], sys.argv[2]
    budget = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    loaded = tf.saved_model.load(export)
    for sig, name in (("explain", f"export-from-python/{method}"), ("serving_default", "export-from-python/plain-inference")):
        fn = loaded.signatures[sig]
        (key,) = fn.structured_input_signature[1].keys()
        h, w, c = fn.structured_input_signature[1][key].shape[1:]
        pixels = np.random.default_rng(1).uniform(-1, 1, (32, h, w, c)).astype(np.float32)
        call = tf.function(lambda x, fn=fn, key=key: fn(**{key: x}))
        for bs in (1, 8, 32):
            timed(name, call, tf.constant(pixels[:bs]), bs, budget)


if __name__ == "__main__":
    main()
