"""fer_models.export: ONNX parity, the temperature wrapper, and the classifier's checks of an
exported model file and its sidecar."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.errors import ModelError

from fer_models_fixtures import always_happy  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")
RNG = np.random.default_rng(7)


def test_export_parity_and_classifier_output(always_happy):
    from fer_models.export import parity

    model, path = always_happy
    faces = RNG.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    assert parity(model, path, faces) < 1e-5
    probabilities = EmotionClassifier(path).predict(faces)
    assert probabilities.shape == (5, 7)
    assert np.allclose(probabilities.sum(axis=1), 1) and np.all(probabilities.argmax(axis=1) == 3)


def test_export_temperature_matches_the_calibration_evaluate_fits():
    from keras import layers

    from fer_models.evaluate import rescale
    from fer_models.export import with_temperature

    inputs = keras.Input((48, 48, 1))
    x = layers.Flatten()(layers.AveragePooling2D(8)(inputs))
    model = keras.Model(inputs, layers.Dense(7, activation="softmax", kernel_initializer="random_normal")(x))
    faces = RNG.integers(0, 256, (6, 48, 48, 1)).astype(np.float32) / 255
    raw = model.predict(faces, verbose=0)
    sharpened = with_temperature(model, 0.5).predict(faces, verbose=0)
    assert np.allclose(sharpened, rescale(raw, 0.5), atol=1e-5)
    assert np.array_equal(sharpened.argmax(axis=1), raw.argmax(axis=1))
    assert np.all(sharpened.max(axis=1) > raw.max(axis=1))  # T < 1: more confident, same choice


def test_classifier_refuses_broken_model_files(always_happy, tmp_path):
    _, path = always_happy
    copy = tmp_path / "m.onnx"
    shutil.copy(path, copy)
    with pytest.raises(ModelError, match="sidecar"):
        EmotionClassifier(copy)
    shutil.copy(path.with_suffix(".json"), copy.with_suffix(".json"))
    EmotionClassifier(copy)  # intact copy loads
    copy.write_bytes(copy.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="checksum"):
        EmotionClassifier(copy)
    spec = json.loads(path.with_suffix(".json").read_text())
    spec["labels"] = ["a"] * 7
    copy.with_suffix(".json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="labels"):
        EmotionClassifier(copy)
    with pytest.raises(ModelError, match="does not exist"):
        EmotionClassifier(tmp_path / "none.onnx")
