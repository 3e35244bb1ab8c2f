"""Checks scripts/tfcam_read.py against a real `tfcam explain --out` folder
(cmd/tfcam/pyreader_test.go runs it), and with it the layout
docs/outputs.md describes.

Usage:
  tfcam_read_check.py make SRC DIR
      writes DIR/rot6.jpg and DIR/rot3.jpg: SRC stretched to an upright
      ROT_W x ROT_H picture, stored turned so that only the EXIF
      orientation tag (6: turn 90 degrees clockwise; 3: 180) shows it
      upright; and DIR/rot_upright.ref, the picture as it should be seen
      (a PNG named so that tfcam does not take it for an input).
  tfcam_read_check.py check OUT METHODS TOPK IMAGES
      OUT was made with --method METHODS --class topTOPK --save
      overlay,map16,npy,tfrecord --overlay-format png --overlay-size 0
      (default alpha and colormap) from IMAGES images, two of them those
      `make` wrote and one named 100%.png.
"""
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfcam_read  # noqa: E402

# Not square and not the model's size, so that a reader that forgets the
# EXIF tag, or returns the map's size, gets the wrong shape.
ROT_W, ROT_H = 60, 90

# tfcam's map16 is round(65535·v) of the normalised map v: half a level,
# plus float32 rounding of v itself (< 1e-6), so one level is a safe bound.
MAP16_TOL = 1 / 65535

# tfcam's PNG overlay against show_cam_on_image on the same map and image:
# the same jet table, quantisation and blend, and a resize that agrees with
# TensorFlow's to 1e-5, which can move a map value across one of the 4096
# colour levels: 2/255 per channel for a PNG photo, which both decode alike.
# A JPEG's pixels differ between TensorFlow's fast integer DCT (tfcam's)
# and Pillow's accurate one, measured up to 10/255 on the test JPEGs, so up
# to 5 under the map at opacity 0.5, averaging under 1. A missing EXIF turn,
# a transposed map or another colormap differs by tens to hundreds.
OVERLAY_TOL = {"PNG": (2, 0.5), "JPEG": (8, 1.5)}  # max, mean over pixels


def make(src, d):
    os.makedirs(d, exist_ok=True)
    up = Image.open(src).convert("RGB").resize((ROT_W, ROT_H), Image.Resampling.BILINEAR)
    up.save(os.path.join(d, "rot_upright.ref"), format="PNG")
    # Orientation 6 means "turn the stored pixels 90 degrees clockwise to
    # show them", so store them turned 90 degrees counter-clockwise.
    for name, tag, stored in [("rot6.jpg", 6, up.transpose(Image.Transpose.ROTATE_90)),
                              ("rot3.jpg", 3, up.transpose(Image.Transpose.ROTATE_180))]:
        exif = Image.Exif()
        exif[0x0112] = tag
        stored.save(os.path.join(d, name), quality=95, exif=exif.tobytes())


def fail(msg):
    raise SystemExit("FAIL: " + msg)


def check_records(out, images):
    recs = list(tfcam_read.records(out))
    keys = [r["key"] for r in recs]
    if len(recs) != images or len(set(keys)) != images:
        fail(f"records: {len(recs)} records, {len(set(keys))} keys, want {images}: {keys}")
    # As tfcam resumes: the last line of a key wins, and a line without
    # its newline does not count, even when it parses (a crash can cut a
    # line just before its newline). A copy of the results with a stale
    # line of the first key before them and such a line after.
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(out, "results.jsonl"), "rb") as f:
            lines = f.read()
        stale = dict(recs[0], layer="stale", maps=[])
        cut = json.dumps(dict(recs[1], key="cut.png")).encode()
        with open(os.path.join(tmp, "results.jsonl"), "wb") as f:
            f.write(json.dumps(stale).encode() + b"\n" + lines + cut)
        again = {r["key"]: r for r in tfcam_read.records(tmp)}
        if sorted(again) != sorted(keys) or again[keys[0]] != recs[0]:
            fail(f"records with a stale duplicate and a cut line: keys {sorted(again)}, first {again.get(keys[0], {}).get('layer')!r}")
    return recs


def read_tfrecord(path):
    """Every Example of path parsed as docs/outputs.md's spec says, by
    (key, method, rank); TensorFlow decodes the 16-bit PNGs (not Pillow)."""
    import tensorflow as tf
    S, I, F = tf.string, tf.int64, tf.float32
    spec = {k: tf.io.FixedLenFeature([], t) for k, t in [
        ("key", S), ("input", S), ("method", S), ("label", S), ("class", I), ("rank", I),
        ("score", F), ("map/height", I), ("map/width", I), ("map/png16", S)]}
    spec["predictions/class"] = tf.io.VarLenFeature(I)
    spec["predictions/score"] = tf.io.VarLenFeature(F)
    got = {}
    for raw in tf.data.TFRecordDataset(path):
        ex = tf.io.parse_single_example(raw, spec)
        e = {k: v.numpy() for k, v in ex.items() if not isinstance(v, tf.SparseTensor)}
        for k in ("predictions/class", "predictions/score"):
            e[k] = tf.sparse.to_dense(ex[k]).numpy()
        e["map"] = tf.io.decode_png(ex["map/png16"], dtype=tf.uint16).numpy()[..., 0]
        k = (e["key"].decode(), e["method"].decode(), int(e["rank"]))
        if k in got:
            fail(f"tfrecord: {k} twice")
        got[k] = e
    return got


def check_map(out, rec, m, shape, topk, ex):
    where = f"{rec['key']} {m['method']} rank {m['rank']}"
    suffix = f"-top{m['rank'] + 1}" if topk > 1 else ""
    stem = rec["key"] + "/" + m["method"].replace("+", "p") + suffix
    for field, want in [("overlay", stem + ".png"), ("map16", stem + ".map16.png"), ("npy", stem + ".npy")]:
        if m.get(field) != want:
            fail(f"{where}: {field} {m.get(field)!r}, want {want!r}")
        if not os.path.isfile(os.path.join(out, want)):
            fail(f"{where}: {want} is named but missing")
    cam = tfcam_read.load_map(out, rec, m["method"], m["rank"])
    if cam.dtype != np.float32 or cam.shape != shape or not (cam.min() >= 0 and cam.max() <= 1):
        fail(f"{where}: load_map gives {cam.dtype} {cam.shape} in [{cam.min()}, {cam.max()}], want float32 {shape} in [0, 1]")
    # The float map, normalised here in float64 as tfcam does in float32.
    raw = np.load(os.path.join(out, m["npy"])).astype(np.float64)
    norm = (raw - raw.min()) / (raw.max() - raw.min() + 1e-7)
    if (d := np.abs(cam - norm).max()) > MAP16_TOL:
        fail(f"{where}: map16 differs from the .npy map normalised by {d * 65535:.2f}/65535")
    npy_only = {k: v for k, v in m.items() if k != "map16"}
    alt = tfcam_read.load_map(out, dict(rec, maps=[npy_only]), m["method"], m["rank"])
    if (d := np.abs(alt - cam).max()) > MAP16_TOL:
        fail(f"{where}: load_map from the .npy alone differs from map16 by {d * 65535:.2f}/65535")
    # The same map in the TFRecord, with the line's facts.
    if ex is None:
        fail(f"{where}: not in the tfrecord")
    if not np.array_equal(ex["map"].astype(np.float32) / np.float32(65535), cam):
        fail(f"{where}: TensorFlow's decoding of map/png16 differs from load_map")
    facts = [("input", ex["input"].decode(), rec["input"]), ("label", ex["label"].decode(), m["label"]),
             ("class", int(ex["class"]), m["class"]), ("score", float(ex["score"]), float(np.float32(m["score"]))),
             ("map size", (int(ex["map/height"]), int(ex["map/width"])), shape),
             ("predictions/class", list(ex["predictions/class"]), [p["class"] for p in rec["predictions"]]),
             ("predictions/score", list(ex["predictions/score"]), [float(np.float32(p["score"])) for p in rec["predictions"]])]
    for name, got, want in facts:
        if got != want:
            fail(f"{where}: tfrecord {name} {got}, results.jsonl {want}")
    return cam


def check_overlay(out, rec, m, cam, upright):
    where = f"{rec['key']} {m['method']} rank {m['rank']}"
    if (rec["width"], rec["height"]) != upright:
        fail(f"{where}: width x height {rec['width']}x{rec['height']}, want the upright {upright[0]}x{upright[1]}")
    got = tfcam_read.show_map(rec["input"], cam, m.get("kind", ""), m.get("zero", 0))
    if got.dtype != np.uint8 or got.shape != (upright[1], upright[0], 3):
        fail(f"{where}: show_map gives {got.dtype} {got.shape}, want uint8 {(upright[1], upright[0], 3)}")
    tfcam = np.asarray(Image.open(os.path.join(out, m["overlay"])).convert("RGB"), dtype=np.int16)
    d = np.abs(got.astype(np.int16) - tfcam)
    with Image.open(rec["input"]) as im:
        most, mean = OVERLAY_TOL[im.format]
    if d.max() > most or d.mean() > mean:
        fail(f"{where}: show_map ({m.get('kind') or 'heat'}) differs from tfcam's own overlay by up to {d.max()}/255, {d.mean():.2f} on average")
    return int(d.max())


def check(out, methods, topk, images):
    recs = check_records(out, images)
    with open(os.path.join(out, "tfcam-run.json")) as f:
        w, h = map(int, json.load(f)["input_size"].split("x"))
    examples = read_tfrecord(os.path.join(out, "maps.tfrecord"))
    if len(examples) != images * len(methods) * topk:
        fail(f"tfrecord: {len(examples)} examples, want {images * len(methods) * topk}")
    rotated, worst = 0, {}
    for rec in recs:
        pairs = sorted((m["method"], m["rank"]) for m in rec["maps"])
        if pairs != sorted((me, r) for me in methods for r in range(topk)):
            fail(f"{rec['key']}: maps {pairs}, want each of {methods} at ranks 0..{topk - 1}")
        for m in rec["maps"]:
            if m["class"] != rec["predictions"][m["rank"]]["class"]:
                fail(f"{rec['key']} {m['method']}: rank {m['rank']} explains class {m['class']}, not predictions[{m['rank']}]")
        name = os.path.basename(rec["input"])
        upright = (ROT_W, ROT_H) if name in ("rot6.jpg", "rot3.jpg") else Image.open(rec["input"]).size
        rotated += upright == (ROT_W, ROT_H)
        for m in rec["maps"]:
            cam = check_map(out, rec, m, (h, w), topk, examples.get((rec["key"], m["method"], m["rank"])))
            fmt = "JPEG" if rec["input"].endswith(".jpg") else "PNG"
            worst[fmt] = max(worst.get(fmt, 0), check_overlay(out, rec, m, cam, upright))
    percent = [r["key"] for r in recs if r["input"].endswith("/100%.png")]
    if percent != ["100%25.png"]:
        fail(f"the key of 100%.png is {percent}, want ['100%25.png']")
    if rotated != 2:
        fail(f"{rotated} EXIF-rotated images among the records, want 2")
    # The reader's idea of upright is the picture make stored turned.
    ref = os.path.join(os.path.dirname(next(r["input"] for r in recs if r["input"].endswith("rot6.jpg"))), "rot_upright.ref")
    want = np.asarray(Image.open(ref), dtype=np.int16)
    for name in ("rot6.jpg", "rot3.jpg"):
        seen = np.asarray(tfcam_read.open_image(os.path.join(os.path.dirname(ref), name)), dtype=np.int16)
        if seen.shape != want.shape or np.abs(seen - want).mean() > 8:
            fail(f"{name}: open_image is not the upright picture (shape {seen.shape}, want {want.shape})")
    print(f"ok: {len(recs)} records, {len(examples)} maps, overlays within {worst} /255 of tfcam's")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(__doc__)
