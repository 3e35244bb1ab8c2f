"""The one custom layer of the `vit` fixture (registered with Keras so that
model.keras loads in the reference scripts): a learned class token
prepended to the patch tokens, plus learned position embeddings, as in
Dosovitskiy et al. 2021. Everything else in the fixture is a stock Keras
layer."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfcam_fixtures")
class ClassToken(keras.layers.Layer):
    """[N,T,C] patch tokens → [N,1+T,C]: class token first, positions added."""

    def build(self, input_shape):
        t, c = input_shape[1], input_shape[2]
        init = keras.initializers.RandomNormal(stddev=0.5)
        self.cls = self.add_weight(shape=(1, 1, c), initializer=init, name="cls")
        self.pos = self.add_weight(shape=(1, t + 1, c), initializer=init, name="pos")

    def call(self, x):
        cls = ops.broadcast_to(self.cls, (ops.shape(x)[0], 1, ops.shape(x)[2]))
        return ops.concatenate([cls, x], axis=1) + self.pos

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] + 1, input_shape[2])
