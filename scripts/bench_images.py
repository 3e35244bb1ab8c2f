"""Synthetic JPEG photos for the benchmarks (bench_e2e.sh, bench_serve.sh).

Usage: bench_images.py ROOT N WIDTHxHEIGHT...

Writes ROOT/WxH/img0000.jpg … (N files, gradients, noise and a bright
square that moves from image to image) and ROOT/WxH-one/img0000.jpg (the
first alone, for timing start-up), for each size in order; a size whose
folder already holds N files is kept.
"""
import os
import sys

import numpy as np
from PIL import Image

root, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for size in sys.argv[3:]:
    w, h = (int(v) for v in size.split("x"))
    d = os.path.join(root, f"{w}x{h}")
    if os.path.isdir(d) and len(os.listdir(d)) == n:
        continue
    os.makedirs(d, exist_ok=True)
    y, x = np.mgrid[0:h, 0:w]
    for i in range(n):
        img = np.stack([(x * 255 // w + i) % 256, (y * 255 // h) % 256, (x + y + 7 * i) % 256], -1).astype(np.uint8)
        img += rng.integers(0, 12, img.shape, dtype=np.uint8)
        s = h // 4
        img[s:2 * s, (i * 13) % (w - s):(i * 13) % (w - s) + s] = [250, 250, 40]
        Image.fromarray(img).save(os.path.join(d, f"img{i:04d}.jpg"), quality=90)
    one = os.path.join(root, f"{w}x{h}-one")
    os.makedirs(one, exist_ok=True)
    Image.open(os.path.join(d, "img0000.jpg")).save(os.path.join(one, "img0000.jpg"), quality=90)
