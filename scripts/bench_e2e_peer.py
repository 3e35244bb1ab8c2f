"""The Python peer of `make bench-e2e`: the same job as `tfcam explain
--method gradcam` with default outputs, done the usual way in Python.

Per image: PIL reads the file (EXIF orientation applied), resizes it to the
model's input (bilinear) and preprocesses it; batches of 32 go through
tf-keras-vis 0.8.7 Gradcam (ReplaceToLinear, top-1 class, the model's
default layer); per image, OpenCV colours the map (jet), resizes it to the
≤512 px overlay and blends it, and writes the overlay JPEG (quality 90), the
16-bit PNG map and a ≤512 px original JPEG. Prints images/s excluding model
loading, and per-stage milliseconds per image.

Usage: bench_e2e_peer.py MODEL_DIR(with model.keras, meta.json) IMAGE_DIR OUT_DIR
"""

import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

import cv2
import keras
import numpy as np
from PIL import Image, ImageOps
from tf_keras_vis.gradcam import Gradcam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

PRE = {"unit": lambda x: x / 255.0, "tf": lambda x: x / 127.5 - 1.0, "raw": lambda x: x}


def main():
    model_dir, image_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
    meta = json.load(open(os.path.join(model_dir, "meta.json")))
    model = keras.models.load_model(os.path.join(model_dir, "model.keras"), compile=False)
    h, w = model.input_shape[1:3]
    pre = PRE[meta.get("preprocess", "unit")]
    gradcam = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
    files = sorted(os.path.join(image_dir, f) for f in os.listdir(image_dir))
    t = {"decode": 0.0, "explain": 0.0, "encode": 0.0}
    start = time.perf_counter()
    for b in range(0, len(files), 32):
        t0 = time.perf_counter()
        originals, batch = [], []
        for f in files[b:b + 32]:
            img = ImageOps.exif_transpose(Image.open(f)).convert("RGB")
            originals.append(img)
            batch.append(pre(np.asarray(img.resize((w, h), Image.BILINEAR), np.float32)))
        x = np.stack(batch)
        t1 = time.perf_counter()
        top1 = np.argmax(model.predict(x, verbose=0), axis=-1)
        cams = gradcam(CategoricalScore(list(top1)), x, penultimate_layer=meta["default_layer"])
        t2 = time.perf_counter()
        for f, img, cam in zip(files[b:b + 32], originals, cams):
            key = os.path.join(out, os.path.splitext(os.path.basename(f))[0])
            os.makedirs(key, exist_ok=True)
            img.thumbnail((512, 512), Image.BILINEAR)
            view = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
            m = cv2.resize(cam.astype(np.float32), (view.shape[1], view.shape[0]), interpolation=cv2.INTER_LINEAR)
            heat = cv2.applyColorMap(np.uint8(np.clip(m, 0, 1) * 255 + 0.5), cv2.COLORMAP_JET)
            cv2.imwrite(key + "/gradcam.jpg", cv2.addWeighted(view, 0.5, heat, 0.5, 0), [cv2.IMWRITE_JPEG_QUALITY, 90])
            cv2.imwrite(key + "/gradcam.map16.png", np.uint16(np.clip(cam, 0, 1) * 65535 + 0.5))
            cv2.imwrite(key + "/original.jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 90])
        t3 = time.perf_counter()
        t["decode"] += t1 - t0
        t["explain"] += t2 - t1
        t["encode"] += t3 - t2
    elapsed = time.perf_counter() - start
    n = len(files)
    print(f"{n / elapsed:.1f} img/s; ms per image: " + ", ".join(f"{k} {1000 * v / n:.1f}" for k, v in t.items()))


if __name__ == "__main__":
    main()
