"""The shipped default model: intact, the node's runtime loads it, and it recognises emotions."""

import json

import numpy as np
import pytest

from fer_ros.core.classifier import DEFAULT_MODEL, EmotionClassifier, sha256_of
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig


def test_shipped_model_matches_its_sidecar_and_card():
    spec = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert spec["sha256"] == sha256_of(DEFAULT_MODEL)
    assert spec["labels"] == list(EMOTIONS)
    assert DEFAULT_MODEL.stat().st_size <= 5 * 1024 * 1024
    card = (DEFAULT_MODEL.parent / "MODEL_CARD.md").read_text()
    assert spec["name"] in card and "python -m fer_models.train" in card


def test_accuracy_on_publictest_rows_is_well_above_chance(fer_csv):
    from fer_models.data import load_split

    split = load_split(fer_csv, "PublicTest")
    predicted = EmotionClassifier().predict(split.images[:600]).argmax(axis=1)
    accuracy = (predicted == split.labels[:600]).mean()
    assert accuracy > 0.55, accuracy  # chance is 0.25 (always "happy"); the thesis CNN reached 0.54


def test_smiling_astronaut_is_happy():
    skimage = pytest.importorskip("skimage.data")
    import cv2

    photo = cv2.cvtColor(skimage.astronaut(), cv2.COLOR_RGB2BGR)
    result = EmotionPipeline(PipelineConfig()).process(photo)
    assert len(result.faces) == 1
    assert result.faces[0].emotion == "happy"
    assert np.isclose(result.faces[0].scores.sum(), 1, atol=1e-4)
