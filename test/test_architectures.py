"""fer_models.architectures: MobileNetV2 without downloads."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")


def test_mobilenet_v2_builds_from_scratch_and_refuses_a_missing_weights_file(tmp_path):
    import keras

    from fer_models.architectures import mobilenet_v2

    model = mobilenet_v2()
    assert model.output_shape == (None, 7)
    norms = [layer for layer in model.get_layer("mobilenetv2_1.00_96").layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.9 for layer in norms)
    with pytest.raises(FileNotFoundError, match="cannot download ImageNet weights"):
        mobilenet_v2(imagenet_weights=str(tmp_path / "absent.h5"))
