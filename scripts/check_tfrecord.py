"""Reads a tfcam TFRecord file with tf.data, as a TF pipeline would, and
checks it: every record parses as tfcam's tf.train.Example, its 16-bit map
decodes to map/height × map/width, and each (key, method) appears once.
Usage: check_tfrecord.py FILE EXPECTED_COUNT CLASSES"""
import collections
import sys

import tensorflow as tf

path, want, classes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = {
    "key": tf.io.FixedLenFeature([], tf.string),
    "method": tf.io.FixedLenFeature([], tf.string),
    "class": tf.io.FixedLenFeature([], tf.int64),
    "map/png16": tf.io.FixedLenFeature([], tf.string),
    "map/height": tf.io.FixedLenFeature([], tf.int64),
    "map/width": tf.io.FixedLenFeature([], tf.int64),
}
seen = collections.Counter()
for raw in tf.data.TFRecordDataset(path):
    ex = tf.io.parse_single_example(raw, spec)
    m = tf.io.decode_png(ex["map/png16"], dtype=tf.uint16)
    assert m.shape == (int(ex["map/height"]), int(ex["map/width"]), 1), m.shape
    assert 0 <= int(ex["class"]) < classes, int(ex["class"])
    seen[(ex["key"].numpy().decode(), ex["method"].numpy().decode())] += 1
assert set(seen.values()) <= {1}, "duplicates: %s" % [k for k, v in seen.items() if v > 1]
assert len(seen) == want, "%d records, want %d" % (len(seen), want)
print("ok", len(seen))
