"""ROS4HRI (REP-155) faces, ROS-free: our emotions as hri_msgs/Expression values, face regions and
landmarks in normalized coordinates, the two face crops, and which faces REP-155's
``/humans/faces/tracked`` lists.

The node's REP-155 output (fer_ros.node.hri) and the recognizer of another detector's crops
(fer_ros.node.hri_recognizer) both publish what these functions compute, so the rules live here once:

- **Mapping**: each FER2013 emotion is the hri_msgs/Expression constant of the same meaning
  (:data:`EXPRESSIONS`: disgust -> ``disgusted``, fear -> ``scared``, surprise -> ``surprised``, the
  others by name).
- **Uncertain and blurred faces** (``uncertain`` in /emotion: no emotion probable enough, or a crop
  too blurred to classify): Expression has no such constant, and libhri reports an unknown string as
  an invalid expression (with a warning per message), so the expression is the constant of the most
  probable emotion with ``confidence`` 0: "named, not to be acted on". Every other expression carries
  the smoothed probability of its label as ``confidence`` (> 0). Valence and arousal are those of
  /emotion (fer_ros.core.affect) in every case.
- **Presence** (:class:`FacePresence`): a face enters ``/tracked`` (and gets its per-face topics)
  when it is first confirmed, and leaves once it has been absent from the results for longer than
  ``track_max_age`` seconds (its track has expired), or at once when the image stamps jump back.
- **Landmarks** (:func:`normalized_landmarks`): YuNet's five points (right eye, left eye, nose tip,
  right and left mouth corner) at the hri_msgs/FacialLandmarks indices hri_face_detect puts them
  (:data:`LANDMARK_INDICES`), in 0..1 of the image; a detector without landmarks (Haar) has none.
- **Crops**: ``/cropped`` is the face as detected (:func:`cropped_face`: the box of ``/roi``, cut to
  the image, fitted into the square keeping its aspect and centred on black, REP-155's "scaled,
  centered and 0-padded", as hri_face_detect cuts it); ``/aligned`` is the classifier's own framing
  of the face (:func:`aligned_face`: its FER2013 square turned upright by the roll read off its eyes,
  black where it reaches past the image).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from fer_ros.core.affect import valence_arousal_batch
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.framing import crop_square
from fer_ros.core.smoothing import UNCERTAIN
from fer_ros.core.types import Box, FaceEmotion, FaceSquare

# FER2013 label -> the value of the hri_msgs/Expression constant of the same meaning (hri_msgs 2.0:
# NEUTRAL="neutral", ANGRY="angry", SAD="sad", HAPPY="happy", SURPRISED="surprised",
# DISGUSTED="disgusted", SCARED="scared").
EXPRESSIONS: dict[str, str] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "scared",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}
assert set(EXPRESSIONS) == set(EMOTIONS)

# hri_msgs/FacialLandmarks: 70 points (dlib/OpenPose order); where YuNet's five go (Box.landmarks order:
# right eye, left eye, nose tip, right mouth corner, left mouth corner), as hri_face_detect places them:
# RIGHT_PUPIL=68, LEFT_PUPIL=69, NOSE=30, MOUTH_OUTER_RIGHT=48, MOUTH_OUTER_LEFT=54 (hri_msgs 2.0).
LANDMARK_COUNT = 70
LANDMARK_INDICES = (68, 69, 30, 48, 54)

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ExpressionValues:
    """The fields of one hri_msgs/Expression (besides its header)."""

    expression: str  # an Expression constant's value (EXPRESSIONS)
    valence: float  # -1..1
    arousal: float  # -1..1
    confidence: float  # 0..1; 0: uncertain or blurred (see the module docstring)


def expressions_of(faces: list[FaceEmotion]) -> list[ExpressionValues]:
    """The Expression of each of ``faces`` by the rules of this module (valence and arousal of all of
    them in one step: this runs for every face of every frame)."""
    if not faces:
        return []
    scores = np.stack([face.smoothed_scores for face in faces])
    affect = valence_arousal_batch(scores)
    out = []
    for face, row, (valence, arousal) in zip(faces, scores, affect):
        if face.emotion == UNCERTAIN:
            label, confidence = EMOTIONS[int(np.argmax(row))], 0.0
        else:
            label, confidence = face.emotion, min(1.0, max(0.0, float(face.confidence)))
        out.append(ExpressionValues(EXPRESSIONS[label], float(valence), float(arousal), confidence))
    return out


def expression_of(face: FaceEmotion) -> ExpressionValues:
    """The Expression of one face (:func:`expressions_of`)."""
    return expressions_of([face])[0]


def _unit(value: float) -> float:
    """``value`` cut to 0..1 (a normalized image coordinate inside the image)."""
    return min(1.0, max(0.0, value))


def normalized_roi(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    """``box`` (pixels of a ``width`` x ``height`` image) as (xmin, ymin, xmax, ymax) in 0..1, cut to
    the image (REP-155's NormalizedRegionOfInterest2D)."""
    return (_unit(box.x / width), _unit(box.y / height), _unit((box.x + box.width) / width),
            _unit((box.y + box.height) / height))


def normalized_landmarks(box: Box, width: int, height: int) -> list[tuple[int, float, float]]:
    """``box``'s landmarks (pixels of a ``width`` x ``height`` image) as (FacialLandmarks index, x, y)
    with x and y in 0..1, cut to the image; empty for a box without landmarks (Haar)."""
    points = box.landmarks
    return [(index, _unit(points[2 * k] / width), _unit(points[2 * k + 1] / height))
            for k, index in enumerate(LANDMARK_INDICES[:len(points) // 2])]


def cropped_face(image: np.ndarray, box: Box, size: int) -> np.ndarray | None:
    """REP-155's ``/cropped`` image of the face in ``box``: the box's pixels cut to the image (the
    region ``/roi`` names), scaled by one factor, the largest that fits (so the aspect is kept), into
    a ``size`` x ``size`` image and centred on black (REP-155: "scaled, centered and 0-padded", as
    hri_face_detect cuts it). None when the box lies outside the image."""
    height, width = image.shape[:2]
    x0, y0 = max(0, box.x), max(0, box.y)
    x1, y1 = min(width, box.x + box.width), min(height, box.y + box.height)
    if x1 <= x0 or y1 <= y0:
        return None
    scale = min(size / (x1 - x0), size / (y1 - y0))
    w, h = min(size, max(1, round((x1 - x0) * scale))), min(size, max(1, round((y1 - y0) * scale)))
    left, top = (size - w) // 2, (size - h) // 2
    scaled = cv2.resize(image[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(scaled, top, size - h - top, left, size - w - left, cv2.BORDER_CONSTANT, value=0)


def aligned_face(image: np.ndarray, square: FaceSquare, size: int) -> np.ndarray:
    """REP-155's ``/aligned`` image of a face: the ``size`` x ``size`` image of its FER2013 square (the
    classifier's framing, fer_ros.core.framing) turned upright by its roll, black where the square
    reaches past the image (REP-155's 0-padding; the classifier's own crops repeat the edge)."""
    return crop_square(image, square, size, border=cv2.BORDER_CONSTANT)


def is_topic_token(face_id: str) -> bool:
    """Whether ``face_id`` can stand in a topic name (``/humans/faces/<id>/...``): a letter or _,
    then letters, digits or _. Our ids (``face_12``) always can; another detector's might not."""
    return bool(_TOKEN.fullmatch(face_id))


class FacePresence:
    """Which confirmed faces REP-155's ``/tracked`` lists, from the faces of each frame's result.

    ``update(ids, stamp)`` with the ids of one frame's faces (stamp in seconds, the image's) returns
    the ids that appeared (publishers to create) and those that expired (publishers to destroy): a
    face expires once it has not been in a result for more than ``max_age`` seconds, the time after
    which its track expires too (fer_ros.core.tracker); a stamp earlier than the last one (a bag
    replayed in a loop) expires every face."""

    def __init__(self, max_age: float):
        self.max_age = max_age
        self._last_seen: dict[str, float] = {}  # id -> stamp it was last in a result, in order of arrival
        self._stamp: float | None = None

    @property
    def ids(self) -> list[str]:
        """The faces present, in the order they appeared."""
        return list(self._last_seen)

    def __len__(self) -> int:
        return len(self._last_seen)

    def update(self, ids: list[str], stamp: float) -> tuple[list[str], list[str]]:
        """Fold in one frame's face ids; return (appeared, expired). After a jump back in time an id
        can be in both: handle the expired ones first."""
        expired = []
        if self._stamp is not None and stamp < self._stamp:
            expired = self.clear()
        self._stamp = stamp
        appeared = [face_id for face_id in ids if face_id not in self._last_seen]
        for face_id in ids:
            self._last_seen[face_id] = stamp
        return appeared, expired + self.expire(stamp)

    def expire(self, stamp: float) -> list[str]:
        """Forget, and return, the faces not in a result for more than ``max_age`` at ``stamp`` (also
        with no frame coming: the caller's estimate of image time)."""
        gone = [face_id for face_id, seen in self._last_seen.items() if stamp - seen > self.max_age]
        for face_id in gone:
            del self._last_seen[face_id]
        return gone

    @property
    def stamp(self) -> float | None:
        """The stamp of the last result folded in (None before the first, or after :meth:`clear`)."""
        return self._stamp

    def clear(self) -> list[str]:
        """Forget every face; return their ids."""
        ids, self._last_seen, self._stamp = list(self._last_seen), {}, None
        return ids
