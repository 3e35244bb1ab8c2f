"""Reads what `tfcam explain --out DIR` writes (docs/outputs.md) with numpy
and Pillow only: the results lines, the maps at the model's resolution, and
a map coloured over the photo it explains, at the photo's own size.

    import tfcam_read as tr
    for rec in tr.records("maps/"):
        cam = tr.load_map("maps/", rec, "gradcam++")      # float32 [H,W] in [0,1]
        rgb = tr.show_cam_on_image(rec["input"], cam)      # uint8 [h,w,3]
        m = tr.map_entry(rec, "integrated-gradients")     # any method: drawn by its kind
        rgb = tr.show_map(rec["input"], tr.load_map("maps/", rec, m["method"]), m.get("kind", ""), m.get("zero", 0))

Usage: tfcam_read.py OUT_DIR KEY METHOD OVERLAY.png [--rank R] [--alpha A] [--image PATH]
writes METHOD's map of the image KEY (its folder name under OUT_DIR) over
the image, at the image's size, as a PNG.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps

# tfcam scales each map by its own range with this epsilon in the
# denominator (explainer/explainer.go normEps), before the 16-bit encoding.
_NORM_EPS = np.float32(1e-7)


def records(out_dir):
    """Yields the results line (a dict) of each image done in out_dir, by
    the rules a resuming tfcam applies (results/dir.go): the last line of a
    key wins, lines that do not parse are skipped, and so is a last line
    without its newline: tfcam writes a line and its newline at once, so
    such a line was cut short by a crash or is being written, and its image
    is not done. Every results*.jsonl is read, in name order (all shards),
    as `tfcam merge` does."""
    names = sorted(glob.glob(os.path.join(out_dir, "results*.jsonl")))
    if not names:
        raise FileNotFoundError(f"{out_dir} has no results*.jsonl: is it a tfcam explain --out folder?")
    last = {}
    for name in names:
        with open(name, "rb") as f:
            lines = f.read().split(b"\n")
        for line in lines[:-1]:  # lines[-1] is b"" or a line cut short
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or not rec.get("key"):
                continue
            last.pop(rec["key"], None)  # order of the winning lines
            last[rec["key"]] = rec
    yield from last.values()


def record(out_dir, key):
    """The results line of the image whose key (folder under out_dir) is
    key; KeyError when it is not done."""
    for rec in records(out_dir):
        if rec["key"] == key:
            return rec
    raise KeyError(f"{key!r} is not in {out_dir}'s results (keys are the escaped folder names, e.g. 100%25.png)")


def map_entry(rec, method, rank=0):
    """The entry of rec["maps"] for method (as --method spells it,
    "gradcam++") and rank (0: the first class explained)."""
    for m in rec["maps"]:
        if m["method"] == method and m["rank"] == rank:
            return m
    have = sorted({(m["method"], m["rank"]) for m in rec["maps"]})
    raise KeyError(f"{rec['key']}: no map of {method!r} at rank {rank}; the record has (method, rank) {have}")


def load_map16(path):
    """A 16-bit grayscale PNG of tfcam's (a .map16.png file, or a TFRecord's
    map/png16 bytes written to a file) as float32 in [0,1]: value / 65535."""
    with Image.open(path) as im:
        # Pillow opens 16-bit grayscale as "I;16" (or "I" in older
        # versions); anything else is not a tfcam map and /65535 would lie.
        if im.mode not in ("I;16", "I;16B", "I;16L", "I"):
            raise ValueError(f"{path}: mode {im.mode}, want a 16-bit grayscale PNG")
        a = np.asarray(im)
    return (a.astype(np.float32) / np.float32(65535)).astype(np.float32)


def load_map(out_dir, rec, method, rank=0):
    """The normalised map of rec's image for method and rank, float32
    [H,W] in [0,1] at the model's input resolution (not the photo's: see
    show_cam_on_image, resize_map). From the .map16.png file, else from the
    .npy, normalised as tfcam does before it encodes map16."""
    m = map_entry(rec, method, rank)
    if m.get("concepts"):
        raise ValueError(f"{rec['key']}: {method} has concept maps; load each with load_map16(out_dir + '/' + concept['map16'])")
    if m.get("map16"):
        return load_map16(os.path.join(out_dir, m["map16"]))
    if m.get("npy"):
        raw = np.load(os.path.join(out_dir, m["npy"])).astype(np.float32)
        lo, hi = raw.min(), raw.max()
        return np.clip((raw - lo) / ((hi - lo) + _NORM_EPS), 0, 1).astype(np.float32)
    raise ValueError(f"{rec['key']}: {method} was saved with neither map16 nor npy (--save)")


def open_image(path):
    """The image file at path as tfcam saw it: RGB, and upright when it is
    a JPEG with an EXIF orientation (tfcam applies the tag for JPEG only).
    Its size is the record's width × height."""
    with Image.open(path) as im:
        if im.format == "JPEG":
            im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def resize_map(cam, width, height):
    """cam (float [H,W]) resized to width × height by bilinear
    interpolation with half-pixel centres and no antialiasing, as tfcam
    resizes a map onto the photo for its overlays (TensorFlow's
    ResizeBilinear; Pillow's BILINEAR differs where it shrinks). A map is
    at the model's input size whatever the photo's shape, since the photo
    was stretched to that size: this stretches it back."""
    cam = np.asarray(cam, dtype=np.float32)

    def axis(n_in, n_out):
        x = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0)
        lo = np.minimum(np.floor(x).astype(int), n_in - 1)
        return lo, np.minimum(lo + 1, n_in - 1), (x - lo).astype(np.float32)

    y0, y1, fy = axis(cam.shape[0], height)
    x0, x1, fx = axis(cam.shape[1], width)
    rows = cam[y0] + (cam[y1] - cam[y0]) * fy[:, None]
    return rows[:, x0] + (rows[:, x1] - rows[:, x0]) * fx


def jet(v):
    """MATLAB's jet as tfcam colours it (render/colormap.go): v in [0,1]
    (clipped; NaN as 0) to uint8 RGB, v quantised to tfcam's 4096 levels."""
    v = np.clip(np.nan_to_num(np.asarray(v, dtype=np.float32), nan=0.0), 0, 1)
    t = np.floor(v * 4095 + 0.5) / 4095
    x = 4 * t[..., None]
    rgb = 1.5 - np.abs(x - np.array([3, 2, 1], dtype=np.float32))
    return np.floor(np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


_COLORMAPS = {"jet": jet}


def show_cam_on_image(image_path, cam, alpha=0.5, colormap="jet"):
    """cam coloured and blended with opacity alpha over the image at
    image_path, as uint8 RGB [h,w,3] at the image's own upright size (EXIF
    orientation applied, as open_image): the map is resized bilinearly to
    it first, like tfcam's overlays (which use the same blend)."""
    if colormap not in _COLORMAPS:
        raise ValueError(f"colormap {colormap!r}: have {sorted(_COLORMAPS)}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha {alpha}: want a value in [0, 1]")
    img = np.asarray(open_image(image_path), dtype=np.float32)
    h, w = img.shape[:2]
    colour = _COLORMAPS[colormap](resize_map(cam, w, h)).astype(np.float32)
    return np.floor(img * (1 - alpha) + colour * alpha + 0.5).astype(np.uint8)


# The gradient and signed styles' full scale: the k-th largest value,
# k = 1 % of the map's pixels rounded up (render.GradientPercentile).
_PERCENTILE = 99

# StyleSigned's colours (render.SignedColors): for and against the class.
_FOR, _AGAINST = np.array([178, 24, 43], np.float32), np.array([33, 102, 172], np.float32)


def _full_scale(dev):
    """The k-th largest of dev [H,W], k = ceil(1 % of its pixels)."""
    flat = np.sort(np.asarray(dev, dtype=np.float32).ravel())
    k = max(1, (flat.size * (100 - _PERCENTILE) + 99) // 100)
    return max(float(flat[-k]), 1e-12)


def show_map(image_path, cam, kind="", zero=0.0, alpha=0.5):
    """A map drawn over its image the way tfcam's overlays draw its kind
    (the map entry's "kind" and "zero" in results.jsonl), as uint8 RGB
    [h,w,3] at the image's own upright size:
    "" (a class-activation map): show_cam_on_image;
    "gradient" (pixel gradients): the map alone in gray, white at its 99th
    percentile;
    "signed" (signed attributions): red where the map is above zero (for
    the class), blue below, opacity |v - zero| over that distance's 99th
    percentile (clipped at 1) times min(1, 2 alpha); the image where it is 0."""
    if kind == "":
        return show_cam_on_image(image_path, cam, alpha)
    if kind not in ("gradient", "signed"):
        raise ValueError(f"kind {kind!r}: want '', 'gradient' or 'signed'")
    cam = np.asarray(cam, dtype=np.float32)
    zero = np.float32(zero if kind == "signed" else 0)
    scale = _full_scale(np.abs(cam - zero))
    img = np.asarray(open_image(image_path), dtype=np.float32)
    h, w = img.shape[:2]
    lo = -1 if kind == "signed" else 0
    t = np.clip((resize_map(cam, w, h) - zero) / np.float32(scale), lo, 1)
    level = np.floor((t - lo) / (1 - lo) * 4095 + 0.5)
    if kind == "gradient":
        gray = np.round(level * 255 / 4095).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    colour = np.where((level >= 2048)[..., None], _FOR, _AGAINST)
    a = (min(1.0, 2 * alpha) * np.abs(t))[..., None]
    return np.floor(img * (1 - a) + colour * a + 0.5).astype(np.uint8)


def main(argv):
    p = argparse.ArgumentParser(description="Writes a tfcam map over its image, at the image's size.")
    p.add_argument("out_dir", help="tfcam explain --out folder")
    p.add_argument("key", help="the image's key: its folder under OUT_DIR")
    p.add_argument("method", help='as --method spells it, e.g. "gradcam++"')
    p.add_argument("overlay", help="PNG file to write")
    p.add_argument("--rank", type=int, default=0, help="which explained class (0: the first; --class topK: 0..K-1)")
    p.add_argument("--alpha", type=float, default=0.5, help="opacity of the map, 0..1")
    p.add_argument("--image", help='the image file (default: the record\'s "input", relative to where tfcam ran)')
    a = p.parse_args(argv)
    rec = record(a.out_dir, a.key)
    cam = load_map(a.out_dir, rec, a.method, a.rank)
    m = map_entry(rec, a.method, a.rank)
    rgb = show_map(a.image or rec["input"], cam, m.get("kind", ""), m.get("zero", 0), a.alpha)
    Image.fromarray(rgb).save(a.overlay, format="PNG")
    print(f"{a.overlay}: {rgb.shape[1]}x{rgb.shape[0]}, map {cam.shape[1]}x{cam.shape[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
