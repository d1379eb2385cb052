"""Model builders. Every model takes ``(48, 48, 1)`` grey values in 0..255 (float32) and returns
softmax probabilities over the 7 FER2013 emotions; scaling is inside the model, so the runtime only
crops, converts to grey and resizes.
"""

from __future__ import annotations

import functools
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


def _conv_bn(x, filters: int, activate: bool = True, gamma: str = "ones"):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(gamma_initializer=gamma)(x)
    return layers.ReLU()(x) if activate else x


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


def _separable_bn(x, filters: int, activate: bool = True, gamma: str = "ones"):
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 1, use_bias=False)(x)
    x = layers.BatchNormalization(gamma_initializer=gamma)(x)
    return layers.ReLU()(x) if activate else x


def blocknet(stages, separable_from: int, name: str, dropout: float = 0.4) -> keras.Model:
    """A family of small networks for the 1 ms budget: ``stages`` is ``(filters, blocks)`` per
    resolution (48, 24, 12, 6 pixels), each followed by 2x2 max pooling. A stage's first block changes
    the channel count; later blocks add their input back (residual). Stages from ``separable_from`` on
    use depthwise-separable blocks (3x3 depthwise, 1x1 pointwise), which buy several times the width
    per multiply-add that plain 3x3 convolutions do."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for stage, (filters, blocks) in enumerate(stages):
        block = _separable_bn if stage >= separable_from else _conv_bn
        x = block(x, filters)
        for _ in range(blocks - 1):
            # A residual branch starts as zero (its batch-norm scale), so the untrained network is as
            # shallow as its first blocks; the ReLU follows the sum, so the branch still gets gradients.
            branch = block(x, filters, activate=False, gamma="zeros")
            x = layers.ReLU()(layers.Add()([x, branch]))
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_EMOTIONS, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


# Candidates measured at 0.6-1.0x the time per face of fernet_w16 (python -m fer_models.latency).
BLOCKNETS = {
    "sepnet_a": dict(stages=[(16, 2), (64, 2), (128, 3), (256, 3)], separable_from=1),
    "sepnet_b": dict(stages=[(32, 1), (64, 3), (128, 4), (256, 3)], separable_from=1),
    "sepnet_s": dict(stages=[(24, 1), (64, 2), (128, 3), (256, 3)], separable_from=1),
    "mixnet": dict(stages=[(16, 2), (32, 2), (128, 3), (256, 3)], separable_from=2),
    "resnet_w16": dict(stages=[(16, 2), (32, 2), (64, 2), (128, 2)], separable_from=4),
}


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
    **{name: functools.partial(blocknet, name=name, **config) for name, config in BLOCKNETS.items()},
}
