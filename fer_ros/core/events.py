"""A face appeared, its emotion changed, it left: the moments behaviour nodes react to, from the faces
of each frame's result (what /emotion publishes), ROS-free (the node's emotion/events, the CLI's
``--events``; message fields in msg/FaceEmotionEvent.msg).

Per face: ``appeared`` the first time it is in a result; ``changed`` exactly when its reported emotion
differs from its previous frame's; ``left`` once it has not been in a result for more than ``max_age``
seconds (its track expires then too, fer_ros.core.tracker), seen at the next frame or, when frames stop
coming, at :meth:`FaceEvents.expire`. ``left`` carries a summary of its time in view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.rep155 import FacePresence
from fer_ros.core.smoothing import UNCERTAIN
from fer_ros.core.types import FaceEmotion

APPEARED, CHANGED, LEFT = "appeared", "changed", "left"
LABELS = (*EMOTIONS, UNCERTAIN)  # the labels a summary shares its time out to


@dataclass(frozen=True)
class Summary:
    """A face's time in view, from its first frame to its last."""

    seconds: float
    shares: dict[str, float]  # label (LABELS) -> share of the time under it; sums to 1
    mean_valence: float
    mean_arousal: float
    strongest: str  # the label of its highest confidence other than UNCERTAIN; "" if none
    strongest_confidence: float
    strongest_stamp: float


@dataclass(frozen=True)
class FaceEvent:
    """One event; fields as msg/FaceEmotionEvent.msg defines them."""

    stamp: float  # seconds, image time
    face_id: str
    kind: str  # APPEARED, CHANGED or LEFT
    emotion: str
    confidence: float
    previous_emotion: str = ""
    previous_duration: float = 0.0
    summary: Summary | None = None  # LEFT only


@dataclass
class _Face:
    """What is known of one face in view."""

    first: float  # stamp of its first frame
    last: float  # stamp of its last frame
    emotion: str
    confidence: float
    since: float  # stamp of the first frame of its current emotion
    valence: float
    arousal: float
    seconds: dict[str, float] = field(default_factory=dict)  # label -> time under it so far
    valence_seconds: float = 0.0  # valence integrated over time
    arousal_seconds: float = 0.0
    strongest: str = ""
    strongest_confidence: float = 0.0
    strongest_stamp: float = 0.0

    def seen(self, face: FaceEmotion, stamp: float) -> None:
        """Another frame: the time since the last one counts for the emotion and affect it had then."""
        dt = stamp - self.last
        self.seconds[self.emotion] = self.seconds.get(self.emotion, 0.0) + dt
        self.valence_seconds += self.valence * dt
        self.arousal_seconds += self.arousal * dt
        self.last = stamp
        self.confidence = face.confidence
        self.valence, self.arousal = face.valence_arousal
        self.strongest_of(face, stamp)

    def strongest_of(self, face: FaceEmotion, stamp: float) -> None:
        if face.emotion != UNCERTAIN and face.confidence > self.strongest_confidence:
            self.strongest, self.strongest_confidence, self.strongest_stamp = face.emotion, face.confidence, stamp

    def summary(self) -> Summary:
        seconds = self.last - self.first
        if seconds > 0:
            shares = {label: self.seconds.get(label, 0.0) / seconds for label in LABELS}
            valence, arousal = self.valence_seconds / seconds, self.arousal_seconds / seconds
        else:  # one frame: all of it under its one emotion
            shares = {label: float(label == self.emotion) for label in LABELS}
            valence, arousal = self.valence, self.arousal
        return Summary(seconds, shares, valence, arousal, self.strongest, self.strongest_confidence,
                       self.strongest_stamp)


class FaceEvents:
    """The events of a sequence of results (one per processed frame, in image time). ``max_age``:
    seconds a face may be missing from the results before it has left (the node's track_max_age).
    Who is in view and who has left is REP-155's rule (fer_ros.core.rep155.FacePresence), so that a
    face's ``left`` and its REP-155 topics ending agree."""

    def __init__(self, max_age: float):
        self._presence = FacePresence(max_age)
        self._faces: dict[str, _Face] = {}  # what is known of each face in view

    @property
    def max_age(self) -> float:
        return self._presence.max_age

    @max_age.setter
    def max_age(self, seconds: float) -> None:
        self._presence.max_age = seconds

    @property
    def ids(self) -> list[str]:
        """The faces in view."""
        return self._presence.ids

    def update(self, faces: list[FaceEmotion], stamp: float) -> list[FaceEvent]:
        """The events of one frame's ``faces`` (the confirmed ones, as /emotion publishes them) at
        ``stamp``: those that left first (every face, after the stamps jumped back: stamped with its
        last frame), then each face's appearance or change, in the frame's order."""
        jumped = self._presence.stamp is not None and stamp < self._presence.stamp
        _, gone = self._presence.update([face.track_id for face in faces], stamp)
        events = [self._left(face_id, self._faces[face_id].last + (0.0 if jumped else self.max_age))
                  for face_id in gone]
        for face in faces:
            known = self._faces.get(face.track_id)
            if known is None:
                valence, arousal = face.valence_arousal
                known = self._faces[face.track_id] = _Face(stamp, stamp, face.emotion, face.confidence, stamp,
                                                           valence, arousal)
                known.strongest_of(face, stamp)
                events.append(FaceEvent(stamp, face.track_id, APPEARED, face.emotion, face.confidence))
                continue
            known.seen(face, stamp)
            if face.emotion != known.emotion:
                events.append(FaceEvent(stamp, face.track_id, CHANGED, face.emotion, face.confidence,
                                        known.emotion, stamp - known.since))
                known.emotion, known.since = face.emotion, stamp
        return events

    def expire(self, stamp: float) -> list[FaceEvent]:
        """``left`` for every face not seen for more than ``max_age`` at ``stamp`` (image time: with no
        frames coming, the last frame's stamp plus the time since), stamped when it expired (its last
        frame's stamp plus ``max_age``)."""
        return [self._left(face_id, self._faces[face_id].last + self.max_age)
                for face_id in self._presence.expire(stamp)]

    def clear(self, stamp: float | None = None) -> list[FaceEvent]:
        """``left`` for every face in view (processing stopped), stamped ``stamp`` (default: each
        face's last frame)."""
        return [self._left(face_id, self._faces[face_id].last if stamp is None else stamp)
                for face_id in self._presence.clear()]

    def _left(self, face_id: str, stamp: float) -> FaceEvent:
        face = self._faces.pop(face_id)
        return FaceEvent(stamp, face_id, LEFT, face.emotion, face.confidence,
                         previous_duration=face.last - face.since, summary=face.summary())
