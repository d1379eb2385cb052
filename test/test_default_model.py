"""The shipped default model: intact, the node's runtime loads it, and it recognises emotions."""

import json

import numpy as np
import pytest

from fer_ros.core.classifiers.onnx import (DEFAULT_MODEL, MIRROR_AVERAGED_DEFAULT, SHIPPED_MODELS,
                                          EmotionClassifier, resolve_model)
from fer_ros.core.sidecar import sha256_of
from fer_ros.core.errors import ModelError
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig


CARDS = {"default": "MODEL_CARD.md", "fast": "MODEL_CARD_fast.md"}


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_model_matches_its_sidecar_and_card(name):
    """Each file the model parameter loads matches its sidecar; the card describes the export it comes
    from (the default's: the mirror-averaged one, whose single pass the default is)."""
    path = SHIPPED_MODELS[name]
    spec = json.loads(path.with_suffix(".json").read_text())
    assert spec["sha256"] == sha256_of(path)
    assert spec["labels"] == list(EMOTIONS)
    assert path.stat().st_size <= 5 * 1024 * 1024
    carded = MIRROR_AVERAGED_DEFAULT if name == "default" else path
    carded_spec = json.loads(carded.with_suffix(".json").read_text())
    assert carded_spec["sha256"] == sha256_of(carded) and carded_spec.get("single_pass", path.name) == path.name
    card = (path.parent / CARDS[name]).read_text()
    assert carded_spec["name"] in card and "python -m fer_models.train" in card and carded_spec["sha256"] in card


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
    averaged = EmotionClassifier(MIRROR_AVERAGED_DEFAULT)
    assert resolve_model("default").name == averaged.spec.single_pass  # `default` is this export's single pass
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48), dtype=np.uint8)
    single = averaged.predict_single(faces)
    mirrored = averaged.predict_single(faces[:, :, ::-1].copy())
    assert np.abs(single - mirrored).max() > 1e-3  # the two passes really differ ...
    assert np.allclose((single + mirrored) / 2, averaged.predict(faces), atol=1e-5)  # ... and average to it
    fast = EmotionClassifier("fast")  # a single-pass model: its single pass is itself
    np.testing.assert_array_equal(fast.predict_single(faces), fast.predict(faces))


def test_video_cycles_the_views_and_the_smoothed_scores_approach_their_average():
    """A still face in video: its first classification averages the face and its mirror image, each
    later one takes one pass on the next view of the cycle (other framings, mirrored or not), and
    the smoothed probabilities converge to the average over the views."""
    pytest.importorskip("skimage.data")
    from fer_ros.core.framing import crop_squares
    from fer_ros.core.views import CYCLE, FIRST, classify_views

    from fer_ros.tools.photos import demo_photos

    photo = demo_photos()["grace_hopper"]  # her face reads differently from view to view
    # the whole frame on every frame, on the spot: the same box, so the same square, every time
    pipeline = EmotionPipeline(PipelineConfig(detection_interval=0.0, detection_thread=False))
    square = pipeline.squares(pipeline.detect(photo))[0]
    classifier = pipeline.classifier
    first = classify_views(classifier, photo, [square], [FIRST])[0]
    averaged = EmotionClassifier(MIRROR_AVERAGED_DEFAULT)  # the export that averages in its graph
    assert np.allclose(first, averaged.predict(crop_squares(photo, [square], 48))[0], atol=1e-5)
    views = np.stack([classify_views(classifier, photo, [square], [(view,)])[0] for view in CYCLE])
    average = views.mean(axis=0)
    assert np.abs(views - average).max() > 0.1  # the views really differ
    raw, smoothed = [], []
    for index in range(150):  # 5 s at 30 fps
        faces = pipeline.process(photo, 10.0 + index / 30).faces
        if faces:
            raw.append(faces[0].scores)
            smoothed.append(faces[0].smoothed_scores)
    assert len(raw) == 150  # a sure face: reported and classified from the first frame (confirm_sure_at_once)
    # every other frame (classify_every): first the face and its mirror image, then the cycle, one view each
    expected = [first] * 2 + [views[(index // 2 - 1) % len(CYCLE)] for index in range(2, len(raw))]
    for index, (scores, want) in enumerate(zip(raw, expected)):
        assert np.allclose(scores, want, atol=1e-5), index
    assert np.allclose(smoothed[2], (first + views[0]) / 2, atol=1e-5)  # the first updates are averaged
    error = np.abs(smoothed[-1] - average).max()
    assert error < 0.25 * np.abs(views - average).max(), (error, smoothed[-1], average)
