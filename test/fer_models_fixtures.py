"""Tiny data made here for the fer_models tests: a FER2013 CSV in the Kaggle layout and an
exported model whose metrics are known exactly. Test files import the fixtures they use."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

RNG = np.random.default_rng(7)


def write_csv(path, rows, header=("emotion", "pixels", "Usage")):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def tiny_rows(n_train=42, n_test=14):
    rows = []
    for usage, n in (("Training", n_train), ("PublicTest", n_test)):
        for i in range(n):
            pixels = " ".join(map(str, RNG.integers(0, 256, 48 * 48)))
            rows.append((i % 7, pixels, usage))
    return rows


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("fer") / "fer2013.csv.gz", tiny_rows())


@pytest.fixture(scope="module")
def always_happy(tmp_path_factory):
    """An exported model that answers 'happy' for every face: its metrics are known exactly."""
    import keras
    from keras import layers

    from fer_models.export import export_onnx
    from fer_ros.core.sidecar import write_sidecar

    inputs = keras.Input((48, 48, 1))
    x = layers.GlobalAveragePooling2D()(inputs)
    outputs = layers.Dense(7, activation="softmax", kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(np.eye(7)[3] * 5))(x)
    model = keras.Model(inputs, outputs, name="always_happy")
    path = tmp_path_factory.mktemp("model") / "happy.onnx"
    export_onnx(model, path)
    write_sidecar(path, model.name, 48)
    return model, path
