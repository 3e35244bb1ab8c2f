"""How much JPEG DCT-domain downscaling moves a model's predictions.

Usage: decode_study.py MODEL.keras PREPROCESS SIZE WORKDIR [K ...]

Builds WORKDIR/images (once): JPEG photos from the real photographs at
hand — scikit-image's colour photos and the two photos in the Go module
cache (grace_hopper.jpg from graft, branches.jpg from imaging) — cut to
random crops and resampled (Lanczos) to long sides of 900 to 3000 px, JPEG
quality 90, so that DCT scaling applies. Each image is then decoded in
full and at the DCT scaling tfcam uses for an oversample factor K (the
largest 1/2, 1/4, 1/8 keeping both sides at least K x SIZE: PIL's draft
mode, the same libjpeg scaling), resized to SIZE x SIZE with TensorFlow's
antialiased bilinear resize (tfcam's ScaleAndTranslate triangle kernel),
preprocessed and run through the model. For each K it prints the share
of images whose top-1 class equals the full decode's, the mean and max
|delta p| of the full decode's top-1 class, and how many images were
actually scaled. Upscaled crops carry less fine detail than photographs
taken at that size: this is a lower bound on the effect for those.
"""

import glob
import os
import sys

import numpy as np
from PIL import Image


def photos():
    import skimage
    d = os.path.join(os.path.dirname(skimage.__file__), "data")
    names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg",
             "ihc.png", "motorcycle_left.png", "motorcycle_right.png", "grass.png", "gravel.png", "color.png"]
    out = [os.path.join(d, n) for n in names]
    out += glob.glob(os.path.expanduser("~/go/pkg/mod/github.com/wamuir/graft@*/tensorflow/testdata/label_image/grace_hopper.jpg"))[:1]
    out += glob.glob(os.path.expanduser("~/go/pkg/mod/github.com/disintegration/imaging@*/testdata/branches.jpg"))[:1]
    return [p for p in out if os.path.exists(p)]


def build(root, n=210):
    os.makedirs(root, exist_ok=True)
    have = sorted(glob.glob(os.path.join(root, "*.jpg")))
    if len(have) >= n:
        return have
    rng = np.random.default_rng(7)
    srcs = [Image.open(p).convert("RGB") for p in photos()]
    out = []
    for i in range(n):
        im = srcs[i % len(srcs)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = im.crop((x, y, x + cw, y + ch))
        side = int(rng.choice([900, 1200, 1600, 2400, 3000]))
        s = side / max(cw, ch)
        crop = crop.resize((max(1, round(cw * s)), max(1, round(ch * s))), Image.LANCZOS)
        p = os.path.join(root, f"img{i:04d}.jpg")
        crop.save(p, quality=90)
        out.append(p)
    return out


def decode(path, k, size):
    im = Image.open(path)
    if k:
        im.draft("RGB", (k * size, k * size))
    return np.asarray(im.convert("RGB"), dtype=np.float32), im.size


def main():
    model_path, pre, size, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ks = [int(v) for v in sys.argv[5:]] or [1, 2]
    import keras
    import tensorflow as tf
    model = keras.models.load_model(model_path)
    prep = {"tf": lambda x: x / 127.5 - 1, "unit": lambda x: x / 255, "raw": lambda x: x}[pre]
    paths = build(os.path.join(work, "images"))

    def probs(arrays):
        x = np.stack([tf.image.resize(a, (size, size), method="bilinear", antialias=True).numpy() for a in arrays])
        return model.predict(prep(x), verbose=0)

    full = []
    for i in range(0, len(paths), 16):
        full.append(probs([decode(p, 0, size)[0] for p in paths[i:i + 16]]))
    full = np.concatenate(full)
    top = full.argmax(1)
    print(f"{len(paths)} images; model input {size}x{size}; reference: full decode")
    print("| K (decoded >= K x input) | images scaled | top-1 agreement | mean abs dp(top-1) | max abs dp(top-1) |")
    print("|---|---|---|---|---|")
    for k in ks:
        got, scaled = [], 0
        for i in range(0, len(paths), 16):
            arrs = []
            for p in paths[i:i + 16]:
                a, dsize = decode(p, k, size)
                scaled += dsize != Image.open(p).size
                arrs.append(a)
            got.append(probs(arrs))
        got = np.concatenate(got)
        agree = (got.argmax(1) == top).mean()
        dp = np.abs(got[np.arange(len(top)), top] - full[np.arange(len(top)), top])
        print(f"| {k} | {scaled} | {100 * agree:.1f} % | {dp.mean():.4f} | {dp.max():.4f} |")


if __name__ == "__main__":
    main()
