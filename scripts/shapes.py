"""Procedural "shapes" data set: one of four shapes over clutter, with its box.

Pure numpy and deterministic for a given seed, so every machine builds the
same images. Each image holds exactly one target shape (the class) at a
random position and scale, drawn over a noisy gradient background with a few
thin distractor strokes that are not any of the classes.
"""

import numpy as np

CLASSES = ["circle", "square", "triangle", "cross"]


def _shape_mask(kind, size, yy, xx, cy, cx, r):
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy * dy + dx * dx <= r * r
    if kind == "square":
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == "triangle":
        # Upward isosceles triangle inscribed in the r-box.
        top, bottom = cy - r, cy + r
        inside_y = (yy >= top) & (yy <= bottom)
        half = (yy - top) / (2.0 * r) * r
        return inside_y & (np.abs(dx) <= half)
    if kind == "cross":
        t = max(1.5, r * 0.3)
        return ((np.abs(dy) <= t) & (np.abs(dx) <= r)) | ((np.abs(dx) <= t) & (np.abs(dy) <= r))
    raise ValueError(kind)


def make(n, size=64, seed=0):
    """Returns images float32 [n,size,size,3] in [0,1], labels int32 [n], boxes int32 [n,4] (x0,y0,x1,y1, inclusive)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((n, size, size, 3), np.float32)
    labels = rng.integers(0, len(CLASSES), size=n).astype(np.int32)
    boxes = np.empty((n, 4), np.int32)
    for i in range(n):
        # Background: a random linear gradient plus noise.
        g0, g1 = rng.uniform(0.0, 0.5, 3), rng.uniform(0.0, 0.5, 3)
        a = rng.uniform(0, 2 * np.pi)
        t = ((np.cos(a) * xx + np.sin(a) * yy) / size + 1) / 2
        img = g0 * (1 - t[..., None]) + g1 * t[..., None]
        img += rng.normal(0, 0.06, img.shape)
        # Distractors: thin random strokes.
        for _ in range(rng.integers(1, 4)):
            x0, y0 = rng.uniform(0, size, 2)
            ang = rng.uniform(0, np.pi)
            length = rng.uniform(size * 0.15, size * 0.4)
            d = np.abs(-np.sin(ang) * (xx - x0) + np.cos(ang) * (yy - y0))
            along = np.cos(ang) * (xx - x0) + np.sin(ang) * (yy - y0)
            m = (d <= 0.7) & (along >= 0) & (along <= length)
            img[m] = rng.uniform(0.3, 1.0, 3)
        # The target shape, bright enough to stand out.
        r = rng.uniform(size * 0.1, size * 0.2)
        cy, cx = rng.uniform(r + 1, size - r - 1, 2)
        m = _shape_mask(CLASSES[labels[i]], size, yy, xx, cy, cx, r)
        img[m] = rng.uniform(0.6, 1.0, 3)
        ys, xs = np.nonzero(m)
        boxes[i] = (xs.min(), ys.min(), xs.max(), ys.max())
        images[i] = np.clip(img, 0, 1)
    return images, labels, boxes
