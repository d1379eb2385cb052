"""Slim a trained fernet to a narrower width, as a starting point for training the narrow one.

    python -m fer_models.slim --model runs/w32/best.keras --width 16 --out runs/w32_to_w16.keras

Every convolution keeps the output channels whose batch norm has the largest scale |gamma| (network
slimming); the next convolution and the classifier keep the matching input channels. The slimmed
network is not usable as it is (its batch norm statistics no longer fit): train it with
``python -m fer_models.train --width 16 --initial-weights runs/w32_to_w16.keras ...``.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from fer_models.architectures import fernet


def _layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def slim(trained: keras.Model, width: int) -> keras.Model:
    """A ``fernet(width)`` holding, layer by layer, the strongest channels of ``trained``."""
    narrow = fernet(width)
    wide_convs = _layers_of(trained, keras.layers.Conv2D)
    narrow_convs = _layers_of(narrow, keras.layers.Conv2D)
    if len(wide_convs) != len(narrow_convs):
        raise ValueError(f"{trained.name} is not a fernet: {len(wide_convs)} convolutions, "
                         f"fernet has {len(narrow_convs)}")
    pairs = zip(wide_convs, _layers_of(trained, keras.layers.BatchNormalization),
                narrow_convs, _layers_of(narrow, keras.layers.BatchNormalization))
    kept_inputs = np.arange(1)  # the grey channel
    for wide_conv, wide_norm, narrow_conv, narrow_norm in pairs:
        (kernel,) = wide_conv.get_weights()
        gamma, beta, mean, variance = wide_norm.get_weights()
        n = narrow_conv.filters
        if n > len(gamma):
            raise ValueError(f"cannot slim {trained.name} to width {width}: it has {len(gamma)} "
                             f"channels where width {width} needs {n}")
        kept = np.sort(np.argsort(-np.abs(gamma), kind="stable")[:n])
        narrow_conv.set_weights([kernel[:, :, kept_inputs][:, :, :, kept]])
        narrow_norm.set_weights([w[kept] for w in (gamma, beta, mean, variance)])
        kept_inputs = kept
    dense, bias = trained.get_layer("probabilities").get_weights()
    narrow.get_layer("probabilities").set_weights([dense[kept_inputs], bias])
    return narrow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.slim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a trained fernet .keras file (e.g. width 32)")
    parser.add_argument("--width", type=int, required=True, help="the narrower fernet width to make")
    parser.add_argument("--out", required=True, help="where to write the slimmed .keras model")
    args = parser.parse_args(argv)
    narrow = slim(keras.models.load_model(args.model, compile=False), args.width)
    narrow.save(args.out)
    print(f"{args.out}: {narrow.name}, {narrow.count_params():,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
