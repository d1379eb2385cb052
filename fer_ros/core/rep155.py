"""ROS4HRI (REP-155) faces, ROS-free: our emotions as hri_msgs/Expression values, face regions in
normalized coordinates, and which faces REP-155's ``/humans/faces/tracked`` lists.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from fer_ros.core.affect import valence_arousal_batch
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.smoothing import UNCERTAIN
from fer_ros.core.types import Box, FaceEmotion

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


def normalized_roi(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    """``box`` (pixels of a ``width`` x ``height`` image) as (xmin, ymin, xmax, ymax) in 0..1, cut to
    the image (REP-155's NormalizedRegionOfInterest2D)."""
    clip = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    return (clip(box.x / width), clip(box.y / height), clip((box.x + box.width) / width),
            clip((box.y + box.height) / height))


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
        gone = [face_id for face_id, seen in self._last_seen.items() if stamp - seen > self.max_age]
        for face_id in gone:
            del self._last_seen[face_id]
        return appeared, expired + gone

    def clear(self) -> list[str]:
        """Forget every face; return their ids."""
        ids, self._last_seen, self._stamp = list(self._last_seen), {}, None
        return ids
