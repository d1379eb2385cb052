"""Temporal smoothing of each tracked face's emotion probabilities, with label hysteresis.

A classifier run on single frames flickers: a face between two expressions alternates labels frame by
frame. :class:`EmotionSmoother` keeps, for each face, an exponential moving average of the probability
vector whose weight depends on the time between frames (so it behaves the same at 5 and at 30 fps),
and publishes a label that only changes when another emotion clearly leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS
from fer_ros.core.errors import ConfigError

UNCERTAIN = "uncertain"  # the label reported while no emotion is probable enough


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy fields with == is ambiguous
class SmoothedEmotion:
    """The smoothed state of one face after an update."""

    scores: np.ndarray  # (7,) float32, EMOTIONS order, sums to 1, read-only
    label: str  # one of EMOTIONS, or UNCERTAIN
    confidence: float  # smoothed probability of ``label``; of the most probable emotion when UNCERTAIN


@dataclass
class SmoothingState:
    """One face's smoothed emotion (kept with the face: fer_ros.core.face_state.FaceEmotionState)."""

    scores: np.ndarray  # smoothed probabilities
    held: int  # index into EMOTIONS of the label held by hysteresis
    stamp: float  # seconds, time of the last update
    uncertain: bool = False  # reported as UNCERTAIN (entered below uncertain_below, left above it + hysteresis)
    updates: int = 1  # classifications folded in so far


class EmotionSmoother:
    """Exponential moving average of a face's emotion probabilities, with hysteresis on the label.
    The settings live here; each face's state (:class:`SmoothingState`) lives with the face and
    expires with it (fer_ros.core.tracker).

    * ``time_constant`` (seconds): each update mixes in the new scores with weight
      ``alpha = 1 - exp(-dt / time_constant)``, ``dt`` being the time since the face's previous
      update; after a sustained change the old label's weight decays by ``1/e`` per time constant.
      The first updates of a face are averaged instead (the n-th weighs ``max(alpha, 1/n)``), so its
      first classification does not outweigh the next ones: with the mirror alternation
      (fer_ros.core.pipeline) its first two, the face and its mirror image, make the mirror average.
      0 disables smoothing (the newest scores are used as they are).
    * ``hysteresis``: the label switches from the held one to another emotion only when that emotion's
      smoothed probability exceeds the held one's by more than this margin.
    * ``uncertain_below``: when the held label's smoothed probability falls below this, the label
      reported becomes :data:`UNCERTAIN`, and stays so until that probability is at least
      ``uncertain_below + hysteresis``: a probability hovering at the threshold does not flip the
      label between an emotion and UNCERTAIN from frame to frame.

    Stamps are in the caller's clock (image stamps), like :class:`~fer_ros.core.tracker.IouTracker`.
    """

    def __init__(self, time_constant: float = 0.5, hysteresis: float = 0.1, uncertain_below: float = 0.4):
        self.configure(time_constant, hysteresis, uncertain_below)

    def configure(self, time_constant: float, hysteresis: float, uncertain_below: float) -> None:
        """Change the settings; every face's smoothed state is kept."""
        checks = [
            (time_constant >= 0.0, "time_constant must be >= 0 seconds (0 disables smoothing)"),
            (0.0 <= hysteresis < 1.0, "hysteresis must lie in [0, 1)"),
            (0.0 <= uncertain_below <= 1.0, "uncertain_below must lie in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self.time_constant = time_constant
        self.hysteresis = hysteresis
        self.uncertain_below = uncertain_below

    def update(self, state: SmoothingState | None, scores: np.ndarray, stamp: float) -> SmoothingState:
        """Fold the probabilities ``scores`` (7, EMOTIONS order) of a face seen at ``stamp`` (seconds)
        into its ``state`` (None: its first; a new state is returned) and return the state."""
        raw = np.asarray(scores, np.float64).reshape(-1)
        if raw.shape != (NUM_EMOTIONS,) or not np.all(np.isfinite(raw)):
            raise ValueError(f"scores must be {NUM_EMOTIONS} finite probabilities in EMOTIONS order, "
                             f"got shape {np.shape(scores)}")
        raw = np.clip(raw, 0.0, None)
        total = raw.sum()
        raw = raw / total if total > 0 else np.full(NUM_EMOTIONS, 1.0 / NUM_EMOTIONS)
        if state is None:
            return SmoothingState(raw, int(np.argmax(raw)), stamp, bool(raw.max() < self.uncertain_below))
        dt = max(0.0, stamp - state.stamp)
        alpha = 1.0 if self.time_constant == 0 else 1.0 - math.exp(-dt / self.time_constant)
        state.updates += 1
        state.scores = state.scores + max(alpha, 1.0 / state.updates) * (raw - state.scores)
        state.stamp = stamp
        best = int(np.argmax(state.scores))
        if state.scores[best] > state.scores[state.held] + self.hysteresis:
            state.held = best
        held = state.scores[state.held] / state.scores.sum()
        if state.uncertain:
            state.uncertain = held < self.uncertain_below + self.hysteresis
        else:
            state.uncertain = held < self.uncertain_below
        return state

    @staticmethod
    def emotion(state: SmoothingState) -> SmoothedEmotion:
        """The smoothed scores and label that ``state`` reports."""
        smoothed = (state.scores / state.scores.sum()).astype(np.float32)
        smoothed.setflags(write=False)
        if state.uncertain:
            return SmoothedEmotion(smoothed, UNCERTAIN, float(smoothed.max()))
        return SmoothedEmotion(smoothed, EMOTIONS[state.held], float(smoothed[state.held]))
