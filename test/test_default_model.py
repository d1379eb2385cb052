"""The shipped default model: intact, the node's runtime loads it, and it recognises emotions."""

import json

import numpy as np
import pytest

from fer_ros.core.classifiers.onnx import DEFAULT_MODEL, SHIPPED_MODELS, EmotionClassifier, resolve_model
from fer_ros.core.sidecar import sha256_of
from fer_ros.core.errors import ModelError
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig


CARDS = {"default": "MODEL_CARD.md", "fast": "MODEL_CARD_fast.md"}


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_model_matches_its_sidecar_and_card(name):
    path = SHIPPED_MODELS[name]
    spec = json.loads(path.with_suffix(".json").read_text())
    assert spec["sha256"] == sha256_of(path)
    assert spec["labels"] == list(EMOTIONS)
    assert path.stat().st_size <= 5 * 1024 * 1024
    card = (path.parent / CARDS[name]).read_text()
    assert spec["name"] in card and "python -m fer_models.train" in card and spec["sha256"] in card


def test_model_names_resolve_to_shipped_files_and_paths_pass_through(tmp_path):
    assert resolve_model("") == resolve_model(None) == resolve_model("default") == DEFAULT_MODEL
    assert resolve_model("fast") == SHIPPED_MODELS["fast"] != DEFAULT_MODEL
    assert resolve_model(str(tmp_path / "mine.onnx")) == tmp_path / "mine.onnx"
    assert EmotionClassifier("fast").name == "fernet_w16"
    with pytest.raises(ModelError, match="default, fast"):
        EmotionClassifier("quick")  # neither a shipped name nor a file


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_accuracy_on_publictest_rows_is_well_above_chance(fer_csv, name):
    from fer_models.data import load_split

    split = load_split(fer_csv, "PublicTest")
    predicted = EmotionClassifier(name).predict(split.images[:600]).argmax(axis=1)
    accuracy = (predicted == split.labels[:600]).mean()
    assert accuracy > 0.6, accuracy  # chance is 0.25 (always "happy"); the thesis CNN reached 0.54


def test_smiling_astronaut_is_happy():
    skimage = pytest.importorskip("skimage.data")
    import cv2

    photo = cv2.cvtColor(skimage.astronaut(), cv2.COLOR_RGB2BGR)
    result = EmotionPipeline(PipelineConfig(confirm_frames=1)).process(photo)  # one photo: report at once
    assert len(result.faces) == 1
    assert result.faces[0].emotion == "happy"
    assert np.isclose(result.faces[0].scores.sum(), 1, atol=1e-4)


def test_single_pass_of_the_default_model_matches_it_mirror_averaged():
    """fer_default_single.onnx is the unmirrored branch of fer_default.onnx (python -m
    fer_models.single_pass): its mean on a face and on its mirror image is the default's output."""
    averaged = EmotionClassifier("default")
    assert averaged.alternates_mirror
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    single = averaged.predict_single(faces)
    mirrored = averaged.predict_single(faces[:, :, ::-1].copy())
    assert np.abs(single - mirrored).max() > 1e-3  # the two passes really differ ...
    assert np.allclose((single + mirrored) / 2, averaged.predict(faces), atol=1e-5)  # ... and average to it
    assert not EmotionClassifier("fast").alternates_mirror  # a single-pass model has nothing to alternate


def test_video_alternates_face_and_mirror_and_the_smoothed_scores_approach_the_mirror_average():
    """A still face in video: one pass every other frame, on the face and on its mirror image in turn;
    the smoothed probabilities are the mirror-averaged model's after two passes and stay near it."""
    pytest.importorskip("skimage.data")
    from fer_ros.core.framing import crop_squares

    from fer_ros.tools.photos import demo_photos

    photo = demo_photos()["grace_hopper"]  # her face and its mirror image read differently
    # the whole frame on every frame, on the spot: the same box, so the same crop, every time
    pipeline = EmotionPipeline(PipelineConfig(detection_interval=0.0, detection_thread=False))
    box = pipeline.detect(photo)[0]
    crop = crop_squares(photo, pipeline.squares([box]), 48)
    classifier = pipeline.classifier
    face, mirror = classifier.predict_single(crop)[0], classifier.predict_single(crop[:, :, ::-1].copy())[0]
    averaged = classifier.predict(crop)[0]
    assert np.abs(face - mirror).max() > 0.1  # a real difference between the two views of this face
    raw, smoothed = [], []
    for index in range(90):  # 3 s at 30 fps
        faces = pipeline.process(photo, 10.0 + index / 30).faces
        if faces:
            raw.append(faces[0].scores)
            smoothed.append(faces[0].smoothed_scores)
    assert len(raw) == 89  # reported from the second frame on (confirmation), classified from then on
    for index, scores in enumerate(raw):  # every other frame (classify_every): the face, then its mirror image
        assert np.allclose(scores, face if index % 4 < 2 else mirror, atol=1e-5), index
    assert np.allclose(smoothed[2], averaged, atol=1e-5)  # the first two are averaged: the mirror average
    error = np.abs(smoothed[-1] - averaged).max()
    assert error < 0.1 * np.abs(face - averaged).max(), (error, smoothed[-1], averaged)
