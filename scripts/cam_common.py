"""Small helpers shared by the Python reference scripts (the parts that are
not the methods themselves): tfcam's normalisation and upsampling, and the
linear-head twin of a Keras classifier."""

import numpy as np
import tensorflow as tf
import keras

EPS = 1e-7


def normalise(m):
    """Per-image min–max to [0,1] with tfcam's epsilon; m is [N,H,W]."""
    lo = m.min(axis=(1, 2), keepdims=True)
    hi = m.max(axis=(1, 2), keepdims=True)
    return (m - lo) / (hi - lo + EPS)


def upsample(m, size):
    """Bilinear resize of maps [N,h,w] to size (tf.image.resize, half-pixel centres)."""
    return tf.image.resize(np.asarray(m, np.float32)[..., None], size, method="bilinear").numpy()[..., 0].astype(np.float64)


def linear_head(model):
    """A copy of a Keras classifier whose last layer outputs logits."""
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.layers[-1].activation = keras.activations.linear
    return twin
