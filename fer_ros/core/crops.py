"""Emotions of face crops that another node cut out: ROS4HRI face detectors' ``/cropped`` or
``/aligned`` images (fer_hri_recognizer, fer_ros.node.hri_recognizer), ROS-free.

Such a crop is treated as the box of a detector whose box is the whole crop: its calibration
(``fer_ros/core/detectors/hri_face_detect_framing.json``, and ``..._aligned_framing.json`` for
``/aligned``, measured by ``python -m fer_models.calibrate_framing --detector hri_face_detect`` on
FER2013 faces cut out the way hri_face_detect cuts them, fer_models.hri_crops) says where FER2013's
framing lies in it, and :func:`fer_ros.core.framing.crop_square` cuts that square out, as for our
own detectors. Then, per face id as in the pipeline: the quality gate (a blurred crop is
``uncertain``, with this crop's scores), the classifier on every waiting crop in one batch (a face's
first crop on it and its mirror image, later ones one view each, fer_ros.core.views) and temporal
smoothing with hysteresis (fer_ros.core.smoothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_ros.core.classifiers import EmotionBackend, create_classifier
from fer_ros.core.framing import BoxFraming, crop_square, load_framing, to_gray
from fer_ros.core.quality import assess
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother, SmoothedEmotion, SmoothingState
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
    """Classify batches of face crops, each face (by id) smoothed with hysteresis on its own.

    ``framing``: where FER2013's framing lies in a crop taken as a box (:data:`SOURCES`);
    ``smoother``: the smoothing settings (each face's state is kept here, by id, until
    :meth:`forget`); ``min_sharpness``: below it a crop is ``blurred`` and its face reported
    ``uncertain`` (its smoothed state left as it was). Not thread-safe."""

    def __init__(self, classifier: EmotionBackend, framing: BoxFraming, smoother: EmotionSmoother,
                 min_sharpness: float):
        self.classifier, self.framing, self.smoother = classifier, framing, smoother
        self.min_sharpness = min_sharpness
        self._passes: dict[str, int] = {}  # face id -> classifications so far (fer_ros.core.views)
        self._states: dict[str, SmoothingState] = {}  # face id -> its smoothed emotion

    def __contains__(self, face_id: str) -> bool:
        """Whether a smoothed state of face ``face_id`` is kept."""
        return face_id in self._states

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
        self._passes = {k: v for k, v in self._passes.items() if k in keep}
        self._states = {k: v for k, v in self._states.items() if k in keep}

    def recognize(self, crops: list[Crop]) -> list[FaceEmotion]:
        """One FaceEmotion per crop, in order: its box is the whole crop, its ``square`` the FER2013
        framing cut from it; at most one crop per face id."""
        size = self.classifier.input_size
        boxes = [Box(0, 0, crop.bgr.shape[1], crop.bgr.shape[0]) for crop in crops]
        squares = [self.framing.square(box) for box in boxes]
        qualities = [assess(crop_square(to_gray(crop.bgr), square, size), box, 0, self.min_sharpness)
                     for crop, square, box in zip(crops, squares, boxes)]
        smoothing = self.smoother.time_constant > 0
        scores = classify_views(self.classifier, [crop.bgr for crop in crops], squares,
                                [views_for(self._passes.get(crop.face_id, 0), smoothing) for crop in crops])
        faces = []
        for k, crop in enumerate(crops):
            self._passes[crop.face_id] = self._passes.get(crop.face_id, 0) + 1
            if qualities[k].ok:
                state = self._states.get(crop.face_id)
                if state is not None and crop.stamp < state.stamp:  # time went back (a bag replayed): afresh
                    state = None
                self._states[crop.face_id] = self.smoother.update(state, scores[k], crop.stamp)
                smoothed = self.smoother.emotion(self._states[crop.face_id])
            else:  # flagged, not guessed (as in the pipeline): this crop's scores, 'uncertain'
                smoothed = SmoothedEmotion(scores[k], UNCERTAIN, float(scores[k].max()))
            faces.append(FaceEmotion(boxes[k], scores[k], crop.face_id, smoothed, qualities[k], squares[k]))
        return faces
