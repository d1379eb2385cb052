"""Model builders. Every model takes ``(48, 48, 1)`` grey values in 0..255 (float32) and returns
softmax probabilities over the 7 FER2013 emotions; scaling is inside the model, so the runtime only
crops, converts to grey and resizes.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from fer_ros.core.emotions import NUM_EMOTIONS

INPUT_SHAPE = (48, 48, 1)


def baseline_cnn() -> keras.Model:
    """The thesis' small CNN: three conv/pool stages and a dense head (about 54% on FER2013)."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(NUM_EMOTIONS, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="baseline_cnn")


def _conv_bn(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def fernet(width: int = 32, dropout: float = 0.4) -> keras.Model:
    """Our main model: a VGG-style network of four double-conv stages with batch norm, global average
    pooling and dropout. Plain 3x3 convolutions run fast in every CPU runtime; ``width`` scales it."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for stage in range(4):
        filters = width * 2**stage
        x = _conv_bn(x, filters)
        x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_EMOTIONS, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"fernet_w{width}")


def mobilenet_v2(imagenet_weights: str | None = None, alpha: float = 1.0) -> keras.Model:
    """MobileNetV2 transfer learning as in the thesis: grey 48x48 is upscaled to 96x96 RGB.

    ``imagenet_weights`` is a local Keras weights file for ``MobileNetV2(include_top=False,
    input_shape=(96, 96, 3), alpha=alpha)``; nothing is downloaded. Without it the network trains
    from scratch.
    """
    if imagenet_weights is not None and not Path(imagenet_weights).is_file():
        raise FileNotFoundError(
            f"{imagenet_weights}: no such file. This machine cannot download ImageNet weights; place a "
            "MobileNetV2 no-top weights file there, or omit --imagenet-weights to train from scratch.")
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Resizing(96, 96)(inputs)
    x = layers.Concatenate()([x, x, x])
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(x)
    base = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), include_top=False, weights=None, alpha=alpha)
    if imagenet_weights:
        base.load_weights(imagenet_weights)
    for layer in base.layers:
        # Keras' 0.999 keeps moving statistics that lag far behind a network trained from scratch
        # (one run: 51% training accuracy, 14% validation); 0.9 follows within a few hundred steps.
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.9
    x = base(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_EMOTIONS, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2")


ARCHITECTURES = {
    "baseline": baseline_cnn,
    "fernet": fernet,
    "mobilenet_v2": mobilenet_v2,
}
