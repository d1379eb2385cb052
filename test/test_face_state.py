"""Every face the pipeline and the ROS4HRI recogniser report is defined, whether it is classified now,
classified earlier, never classified, blurred now or coasting (fer_ros.core.face_state); a face too
blurred to classify is not classified."""

from __future__ import annotations

import numpy as np
import pytest

from fer_ros.core.face_state import UNIFORM, FaceEmotionState
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother
from fer_ros.core.types import Quality

SHARP, BLURRED = Quality(True, "", 300.0), Quality(False, "blurred", 12.0)


def counted(pipeline: EmotionPipeline) -> list[int]:
    """Count the crops the pipeline's classifier is given (one entry per call)."""
    calls, predict = [], pipeline.classifier.predict_single
    pipeline.classifier.predict_single = lambda batch: calls.append(len(batch)) or predict(batch)
    return calls


def defined(face) -> bool:
    """Finite probabilities that sum to 1 (raw and smoothed), and a confidence in [0, 1]."""
    return all(np.all(np.isfinite(v)) and abs(float(np.sum(v)) - 1) < 1e-3
               for v in (face.scores, face.smoothed_scores)) and 0 <= face.confidence <= 1


def test_a_state_reports_uniform_until_classified_and_its_last_classification_while_blurred():
    state, smoother = FaceEmotionState(), EmotionSmoother(0.5, 0.1, 0.4)
    raw, smoothed = state.report()
    assert np.array_equal(raw, UNIFORM) and smoothed.label == UNCERTAIN and state.urgent
    state.assessed(SHARP)
    happy = np.array([0, 0, 0, 0.9, 0.05, 0.05, 0], np.float32)
    state.classified_as(happy, 1.0, 1, smoother)
    assert not state.urgent and state.report()[1].label == "happy"
    state.assessed(BLURRED)
    raw, smoothed = state.report()
    assert np.array_equal(raw, happy) and smoothed.label == UNCERTAIN and smoothed.confidence == pytest.approx(0.9)
    assert state.urgent and not state.fit  # classified first once it is sharp again
    state.assessed(SHARP)
    assert state.fit and state.urgent


@pytest.fixture(scope="module")
def sequence():
    pytest.importorskip("skimage.data")
    from fer_ros.bench.frames import SyntheticSequence

    return SyntheticSequence(1, 90)


@pytest.mark.parametrize("threaded", [False, True])
def test_a_face_blurred_from_the_start_is_never_classified_and_every_report_is_defined(sequence, threaded):
    """min_sharpness at its maximum (a defocused camera): one face moving at 30 Hz, coasting every other
    frame. Before, 42 of 89 published faces carried scores never set; now every one is the uniform
    distribution, 'uncertain', and the classifier never runs."""
    pipeline = EmotionPipeline(PipelineConfig(min_sharpness=10000.0, detection_thread=threaded))
    calls = counted(pipeline)
    faces = [face for i in range(90) for face in pipeline.process(sequence.frame(i), 100 + i / 30).faces]
    pipeline.close()
    assert len(faces) >= 80 and any(face.coasted for face in faces)
    assert all(defined(face) for face in faces)
    assert all(np.array_equal(face.scores, UNIFORM) and face.emotion == UNCERTAIN for face in faces)
    assert all(face.quality is not None and face.quality.reason == "blurred" for face in faces)
    assert calls == []


def test_a_face_that_blurs_keeps_its_last_classification_and_is_classified_first_when_sharp(sequence):
    pipeline = EmotionPipeline(PipelineConfig(min_sharpness=0.0, detection_thread=False))
    calls = counted(pipeline)

    def run(frames):
        return [pipeline.process(sequence.frame(i), 100 + i / 30).faces for i in frames]

    sharp = [faces[0] for faces in run(range(0, 30)) if faces]
    assert sharp and all(defined(face) for face in sharp) and sharp[-1].emotion != UNCERTAIN
    last_raw = pipeline.tracker.tracks[0].emotion.raw.copy()
    before = len(calls)
    pipeline.reconfigure(PipelineConfig(min_sharpness=10000.0, detection_thread=False))
    blurred = [faces[0] for faces in run(range(30, 60))]
    assert len(calls) == before, "a blurred face was classified"
    assert any(face.coasted for face in blurred) and all(defined(face) for face in blurred)
    assert all(face.emotion == UNCERTAIN and np.array_equal(face.scores, last_raw) for face in blurred)
    pipeline.reconfigure(PipelineConfig(min_sharpness=0.0, detection_thread=False))
    again = run([60])[0]
    assert len(calls) == before + 1 and again and again[0].emotion != UNCERTAIN  # at once, not on its turn
    assert not np.array_equal(again[0].scores, last_raw)


def test_the_hri_recogniser_follows_the_same_rules():
    """A crop too flat to classify is not classified: uniform before its face was ever classified, its
    last probabilities after; the face is then classified again at its next sharp crop."""
    from fer_ros.core.crops import Crop, CropRecognizer

    recognizer = CropRecognizer.from_values({"classifier_backend": "fer", "model": "", "num_threads": 1,
                                             "smoothing_time_constant": 0.5, "hysteresis": 0.1,
                                             "uncertain_below": 0.4, "min_sharpness": 50.0})
    calls = counted(recognizer)
    flat = np.full((128, 128, 3), 128, np.uint8)
    textured = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    (first,) = recognizer.recognize([Crop("a", flat, 1.0)])
    assert calls == [] and np.array_equal(first.scores, UNIFORM) and first.emotion == UNCERTAIN
    (sharp,) = recognizer.recognize([Crop("a", textured, 1.1)])
    assert len(calls) == 1 and "a" in recognizer and defined(sharp)
    (blurred,) = recognizer.recognize([Crop("a", flat, 1.2)])
    assert len(calls) == 1 and np.array_equal(blurred.scores, sharp.scores) and blurred.emotion == UNCERTAIN
