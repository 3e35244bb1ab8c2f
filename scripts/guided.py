"""Guided-backpropagation reference: ReLUs whose backward pass drops negative gradients.

Springenberg et al. 2015: the gradient through a ReLU passes only where the
forward input was positive and the incoming gradient is positive. Built with
tf.custom_gradient, independently of tfcam's graph rewrite.
"""

import contextlib

import tensorflow as tf
import keras


@tf.custom_gradient
def guided_relu(x):
    y = tf.nn.relu(x)

    def grad(dy):
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)

    return y, grad


@tf.custom_gradient
def guided_relu6(x):
    y = tf.nn.relu6(x)

    def grad(dy):
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast((x > 0) & (x < 6), dy.dtype)

    return y, grad


@contextlib.contextmanager
def relus_guided(model):
    """Temporarily swaps every relu/relu6 activation of a Keras model for its guided twin."""
    swapped = []
    for layer in model.layers:
        act = getattr(layer, "activation", None)
        if act is keras.activations.relu:
            swapped.append((layer, act))
            layer.activation = guided_relu
        elif act is keras.activations.relu6:
            swapped.append((layer, act))
            layer.activation = guided_relu6
    try:
        yield
    finally:
        for layer, act in swapped:
            layer.activation = act
