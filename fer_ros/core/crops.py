"""Emotions of face crops that another node cut out: ROS4HRI face detectors' ``/cropped`` or
``/aligned`` images (fer_hri_recognizer, fer_ros.node.hri_recognizer), ROS-free.

Such a crop is treated as the box of a detector whose box is the whole crop: its calibration
(``fer_ros/core/detectors/hri_face_detect_framing.json``, and ``..._aligned_framing.json`` for
``/aligned``, measured by ``python -m fer_models.calibrate_framing --detector hri_face_detect`` on
FER2013 faces cut out the way hri_face_detect cuts them, fer_models.hri_crops) says where FER2013's
framing lies in it, and :func:`fer_ros.core.framing.crop_square` cuts that square out, as for our
own detectors. Then, per face id, by the pipeline's rules (fer_ros.core.face_state): the quality
gate first (a blurred crop is not classified, its face ``uncertain`` with its last probabilities),
the classifier on every fit crop in one batch (a face's first crop on it and its mirror image, later
ones one view each, fer_ros.core.views) and temporal smoothing with hysteresis (fer_ros.core.smoothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_ros.core.classifiers import EmotionBackend, create_classifier
from fer_ros.core.framing import BoxFraming, crop_square, load_framing, to_gray
from fer_ros.core.quality import assess
from fer_ros.core.face_state import FaceEmotionState
from fer_ros.core.smoothing import EmotionSmoother
from fer_ros.core.types import Box, FaceEmotion
from fer_ros.core.views import classify_views, views_for

# The crops another node publishes, by the name of their topic, and the calibration each one uses
# (fer_ros/core/detectors/<name>_framing.json).
SOURCES = {"cropped": "hri_face_detect", "aligned": "hri_face_detect_aligned"}


@dataclass(frozen=True)
class Crop:
    """One face crop as received: the face's id, the BGR image and its stamp (seconds)."""

    face_id: str
    bgr: np.ndarray
    stamp: float


class CropRecognizer:
    """Classify batches of face crops, each face (by id) with a state of its own that follows the
    pipeline's rules (fer_ros.core.face_state: quality before classification, every report defined).

    ``framing``: where FER2013's framing lies in a crop taken as a box (:data:`SOURCES`);
    ``smoother``: the smoothing settings (each face's state is kept here, by id, until
    :meth:`forget`); ``min_sharpness``: below it a crop is ``blurred``, not classified, and its face
    reported ``uncertain`` (its state left as it was). Not thread-safe."""

    def __init__(self, classifier: EmotionBackend, framing: BoxFraming, smoother: EmotionSmoother,
                 min_sharpness: float):
        self.classifier, self.framing, self.smoother = classifier, framing, smoother
        self.min_sharpness = min_sharpness
        self._states: dict[str, FaceEmotionState] = {}  # face id -> its emotion state
        self._crops = 0  # crops received: the frame count of the states (their ``frame``)

    def __contains__(self, face_id: str) -> bool:
        """Whether face ``face_id`` has been classified and its state is kept."""
        state = self._states.get(face_id)
        return state is not None and state.classified

    @classmethod
    def from_values(cls, values: dict, source: str = "cropped") -> "CropRecognizer":
        """Built from parameter values (fer_ros.core.schema names): the classifier
        (``classifier_backend``, ``model``, ``num_threads``), smoothing (``smoothing_time_constant``,
        ``hysteresis``, ``uncertain_below``) and ``min_sharpness``, for crops of
        ``source`` (a key of SOURCES). ConfigError or ModelError with the fix when one cannot be built."""
        framing = load_framing(SOURCES[source]).full
        classifier = create_classifier(values["classifier_backend"], values["model"],
                                       num_threads=values["num_threads"])
        smoother = EmotionSmoother(values["smoothing_time_constant"], values["hysteresis"],
                                   values["uncertain_below"])
        return cls(classifier, framing, smoother, values["min_sharpness"])

    def forget(self, keep) -> None:
        """Drop the state of every face whose id is not in ``keep`` (e.g. no longer tracked)."""
        keep = set(keep)
        self._states = {k: v for k, v in self._states.items() if k in keep}

    def recognize(self, crops: list[Crop]) -> list[FaceEmotion]:
        """One FaceEmotion per crop, in order: its box is the whole crop, its ``square`` the FER2013
        framing cut from it; at most one crop per face id. Crops too blurred are not classified."""
        size = self.classifier.input_size
        self._crops += 1
        boxes = [Box(0, 0, crop.bgr.shape[1], crop.bgr.shape[0]) for crop in crops]
        squares = [self.framing.square(box) for box in boxes]
        states = [self._states.setdefault(crop.face_id, FaceEmotionState()) for crop in crops]
        for crop, square, box, state in zip(crops, squares, boxes, states):
            state.assessed(assess(crop_square(to_gray(crop.bgr), square, size), box, 0, self.min_sharpness))
        fit = [k for k, state in enumerate(states) if state.fit]
        smoothing = self.smoother.time_constant > 0
        scores = classify_views(self.classifier, [crops[k].bgr for k in fit], [squares[k] for k in fit],
                                [views_for(states[k].passes, smoothing) for k in fit])
        for k, raw in zip(fit, scores):
            states[k].classified_as(raw, crops[k].stamp, self._crops, self.smoother)
        faces = []
        for crop, box, square, state in zip(crops, boxes, squares, states):
            raw, smoothed = state.report()
            faces.append(FaceEmotion(box, raw, crop.face_id, smoothed, state.quality, square))
        return faces
