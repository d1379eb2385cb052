"""Plain result types of the perception core (no ROS)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_ros.core.emotions import EMOTIONS


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels of the source image, with the detector's score in [0, 1]."""

    x: int
    y: int
    width: int
    height: int
    score: float = 1.0

    @property
    def area(self) -> int:
        return self.width * self.height

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


@dataclass
class FaceEmotion:
    """One face: its box, a stable track id and the probability of each emotion (EMOTIONS order)."""

    box: Box
    scores: np.ndarray
    track_id: str = ""

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))


@dataclass
class FrameResult:
    """Everything the core found in one image."""

    faces: list[FaceEmotion]
    image_width: int
    image_height: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
