"""What is known of one face's emotion, and the rules every recogniser follows with it.

One :class:`FaceEmotionState` per face: its tracked face's in the node's pipeline
(fer_ros.core.tracker.Track), a face id's in the ROS4HRI recogniser (fer_ros.core.crops). Both apply
the same rules:

- A face's quality is assessed before it is classified. A face too small or too blurred
  (fer_ros.core.quality) is not classified, and it is reported ``uncertain``. Its last probabilities
  and smoothed state stay as they were, and it is classified at the first frame it is sharp in again.
- Every report is defined. A face never classified reports the uniform distribution (1/7 each:
  no information), both raw and smoothed, and ``uncertain`` with that confidence. A face classified
  earlier (not chosen this frame, coasting, or blurred now) reports its last classification's
  probabilities and its smoothed state as that left it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_ros.core.emotions import NUM_EMOTIONS
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother, SmoothedEmotion, SmoothingState
from fer_ros.core.types import Quality

UNIFORM = np.full(NUM_EMOTIONS, 1.0 / NUM_EMOTIONS, np.float32)  # what a face never classified reports
UNIFORM.setflags(write=False)


@dataclass
class FaceEmotionState:
    """One face's classifications, smoothed emotion and quality, until the face is forgotten."""

    passes: int = 0  # classifier passes so far: which view comes next (fer_ros.core.views)
    frame: int = 0  # the caller's frame count at its last classification (whose turn: classify_every)
    raw: np.ndarray | None = None  # its last classification's probabilities; None: never classified
    smoothing: SmoothingState | None = None  # its smoothed emotion; None until first classified
    quality: Quality | None = None  # the last verdict on it; None: never assessed
    refresh: bool = False  # it was too blurred or small since its last classification: classify it first

    @property
    def classified(self) -> bool:
        return self.raw is not None

    @property
    def urgent(self) -> bool:
        """Classify it at the first chance: never classified, or not since it was unfit."""
        return self.raw is None or self.refresh

    @property
    def fit(self) -> bool:
        """Its last verdict let it be classified (a face never assessed is not)."""
        return self.quality is not None and self.quality.ok

    def assessed(self, quality: Quality) -> None:
        """This frame's verdict on it (fer_ros.core.quality.assess)."""
        self.quality = quality
        if not quality.ok:
            self.refresh = True

    def classified_as(self, raw: np.ndarray, stamp: float, frame: int, smoother: EmotionSmoother) -> None:
        """Fold a classification of it at ``stamp`` (seconds) into its smoothed state (afresh when the
        stamps went back: a bag replayed in a loop)."""
        if self.smoothing is not None and stamp < self.smoothing.stamp:
            self.smoothing = None
        self.raw = np.array(raw, np.float32)
        self.raw.setflags(write=False)
        self.passes, self.frame, self.refresh = self.passes + 1, frame, False
        self.smoothing = smoother.update(self.smoothing, self.raw, stamp)

    def report(self) -> tuple[np.ndarray, SmoothedEmotion]:
        """(raw probabilities, smoothed emotion) to publish, defined in every case (module docstring)."""
        if self.smoothing is None:
            return UNIFORM, SmoothedEmotion(UNIFORM, UNCERTAIN, float(UNIFORM[0]))
        smoothed = EmotionSmoother.emotion(self.smoothing)
        if self.quality is not None and not self.quality.ok:  # flagged, not guessed
            smoothed = SmoothedEmotion(smoothed.scores, UNCERTAIN, float(smoothed.scores.max()))
        return self.raw, smoothed
