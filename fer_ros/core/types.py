"""Plain result types of the perception core (no ROS)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fer_ros.core.affect import valence_arousal
from fer_ros.core.emotions import EMOTIONS

if TYPE_CHECKING:  # for annotations only
    from fer_ros.core.smoothing import SmoothedEmotion


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels of the source image, with the detector's score in [0, 1]
    and, where the detector gives them, its landmarks (YuNet: right eye, left eye, nose tip, right
    and left mouth corner, as x, y pairs in pixels of the same image; empty otherwise), and whether
    the detector is sure of it (a sure face is published at once: confirm_sure_at_once)."""

    x: int
    y: int
    width: int
    height: int
    score: float = 1.0
    landmarks: tuple[float, ...] = ()
    sure: bool = False  # the detector is sure of it (FaceDetector: its score or its evidence is strong)

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def mapped(self, factor: float, dx: float = 0, dy: float = 0) -> "Box":
        """This box (and its landmarks) scaled by ``factor``, then moved by (``dx``, ``dy``): from a
        resized or cut-out image back into the frame's pixels."""
        landmarks = tuple(v * factor + (dx if i % 2 == 0 else dy) for i, v in enumerate(self.landmarks))
        return Box(int(round(self.x * factor + dx)), int(round(self.y * factor + dy)), int(round(self.width * factor)),
                   int(round(self.height * factor)), self.score, landmarks, self.sure)

    def clipped(self, image_width: int, image_height: int) -> "Box":
        """This box cut to the image bounds (width or height 0 when it lies outside)."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1 = min(image_width, self.x + self.width)
        y1 = min(image_height, self.y + self.height)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0), self.score)

    def iou(self, other: "Box") -> float:
        """Intersection over union of two boxes."""
        ix = max(0, min(self.x + self.width, other.x + other.width) - max(self.x, other.x))
        iy = max(0, min(self.y + self.height, other.y + other.height) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class FaceSquare:
    """A face's FER2013 framing in a frame (fer_ros.core.framing): centre and side in pixels
    (continuous coordinates: the pixel at column ``i`` spans ``[i, i + 1)``), and ``angle``, the
    degrees the face is rolled counter-clockwise as seen in the image (0: upright)."""

    cx: float
    cy: float
    side: float
    angle: float = 0.0


@dataclass(frozen=True)
class Quality:
    """Verdict of :func:`fer_ros.core.quality.assess` on one face."""

    ok: bool
    reason: str  # the first failed check: "" (ok), "too_small" or "blurred" (fer_ros.core.quality)
    sharpness: float  # blur_score of the crop (fer_ros.core.quality)


@dataclass
class FaceEmotion:
    """One face: its box, a stable track id, the classifier's probability of each emotion (``scores``,
    EMOTIONS order: from this frame, or from the last one that classified the face, see
    ``classify_every``) and, when the pipeline smooths over time, the smoothed state, face quality
    and the square the classifier's crop was cut from (fer_ros.core.framing)."""

    box: Box
    scores: np.ndarray
    track_id: str = ""
    smoothed: SmoothedEmotion | None = None
    quality: Quality | None = None
    square: FaceSquare | None = None  # the face's FER2013 framing the classifier's crop was cut from
    coasted: bool = False  # its box is where its motion puts it, not found in this frame (search_every)

    @property
    def emotion(self) -> str:
        """The label to act on: smoothed with hysteresis (or "uncertain"), else this frame's argmax."""
        return self.smoothed.label if self.smoothed else EMOTIONS[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return self.smoothed.confidence if self.smoothed else float(np.max(self.scores))

    @property
    def smoothed_scores(self) -> np.ndarray:
        return self.smoothed.scores if self.smoothed else self.scores

    @property
    def valence_arousal(self) -> tuple[float, float]:
        return valence_arousal(self.smoothed_scores)


@dataclass(frozen=True)
class Fault:
    """Something that went wrong beside a frame without costing it (e.g. a background detection that
    failed): ``kind`` is a short key for counting (``detection_failed``, ``detection_overdue``),
    ``message`` says what happened and what it means for the output."""

    kind: str
    message: str


@dataclass(frozen=True)
class Found:
    """The faces of one frame and how the finder found them (fer_ros.core.finder): what the tracker
    takes in (fer_ros.core.tracker.IouTracker.take)."""

    boxes: list[Box]  # pixels of the frame, best first
    # every box comes from a whole-frame detection (else every box from the search near a known face):
    # which of the detector's framing calibrations applies (fer_ros.core.framing)
    full: bool
    # most of the picture changed from the previous frame (a new scene): a tracked face not among
    # ``boxes`` is gone, its track ends now
    scene_cut: bool = False
    # per box: the face side a whole-frame detection measured (the size its track is searched at
    # from now on), 0 where only the search near its last box found it
    sizes: list[int] = field(default_factory=list)
    # per box: in how many frames the face was seen, counting this one: 2 for a face that a background
    # detection found in an older frame and the search found again here (confirm_frames counts both)
    sightings: list[int] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)  # what went wrong beside this frame
    # indices of the boxes that are predictions, not looked for in this frame (coasting faces)
    coasted: frozenset[int] = frozenset()
    frame: int = 0  # the finder's count of frames: when the searched faces were last searched for


@dataclass
class FrameResult:
    """Everything the core found in one image."""

    faces: list[FaceEmotion]
    image_width: int
    image_height: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    unconfirmed: int = 0  # faces seen but not yet in ``faces`` (seen in fewer than confirm_frames frames)
    full_detection: bool = True  # whether this frame was searched whole (else near known faces only)
    faults: list[Fault] = field(default_factory=list)  # what went wrong beside this frame (counted by the node)
