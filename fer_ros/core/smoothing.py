"""Temporal smoothing of each tracked face's emotion probabilities, with label hysteresis.

A classifier run on single frames flickers: a face between two expressions alternates labels frame by
frame. :class:`EmotionSmoother` keeps, per track id, an exponential moving average of the probability
vector whose weight depends on the time between frames (so it behaves the same at 5 and at 30 fps),
and publishes a label that only changes when another emotion clearly leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

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
class _TrackState:
    scores: np.ndarray  # smoothed probabilities
    held: int  # index into EMOTIONS of the label held by hysteresis
    stamp: float  # seconds, time of the last update
    uncertain: bool = False  # reported as UNCERTAIN (entered below uncertain_below, left above it + hysteresis)


class EmotionSmoother:
    """Per-track exponential moving average of emotion probabilities, with hysteresis on the label.

    * ``time_constant`` (seconds): each update mixes in the new scores with weight
      ``alpha = 1 - exp(-dt / time_constant)``, ``dt`` being the time since the track's previous
      update; after a sustained change the old label's weight decays by ``1/e`` per time constant.
      0 disables smoothing (the newest scores are used as they are).
    * ``hysteresis``: the label switches from the held one to another emotion only when that emotion's
      smoothed probability exceeds the held one's by more than this margin.
    * ``uncertain_below``: when the held label's smoothed probability falls below this, the label
      reported becomes :data:`UNCERTAIN`, and stays so until that probability is at least
      ``uncertain_below + hysteresis``: a probability hovering at the threshold does not flip the
      label between an emotion and UNCERTAIN from frame to frame.
    * ``max_age`` (seconds): tracks not updated for longer are forgotten (a face that comes back
      starts afresh); a stamp earlier than the previous one (a bag replayed in a loop) resets all
      tracks. At most ``max_tracks`` are kept (the most recently updated).

    Stamps are in the caller's clock (image stamps), like :class:`~fer_ros.core.tracker.IouTracker`.
    """

    def __init__(self, time_constant: float = 0.5, hysteresis: float = 0.1, uncertain_below: float = 0.4,
                 max_age: float = 1.0, max_tracks: int = 256):
        self.configure(time_constant, hysteresis, uncertain_below, max_age, max_tracks)
        self._tracks: dict[str, _TrackState] = {}
        self._last_stamp: float | None = None

    def configure(self, time_constant: float, hysteresis: float, uncertain_below: float,
                  max_age: float = 1.0, max_tracks: int = 256) -> None:
        """Change the settings; every track's smoothed state is kept."""
        checks = [
            (time_constant >= 0.0, "time_constant must be >= 0 seconds (0 disables smoothing)"),
            (0.0 <= hysteresis < 1.0, "hysteresis must lie in [0, 1)"),
            (0.0 <= uncertain_below <= 1.0, "uncertain_below must lie in [0, 1]"),
            (max_age >= 0.0, "max_age must be >= 0 seconds"),
            (max_tracks >= 1, "max_tracks must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self.time_constant = time_constant
        self.hysteresis = hysteresis
        self.uncertain_below = uncertain_below
        self.max_age = max_age
        self.max_tracks = max_tracks

    def __len__(self) -> int:
        """Number of tracks whose state is kept."""
        return len(self._tracks)

    def __contains__(self, track_id: str) -> bool:
        return track_id in self._tracks

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()
        self._last_stamp = None

    def forget(self, active_ids: Iterable[str]) -> None:
        """Drop the state of every track whose id is not in ``active_ids``."""
        keep = set(active_ids)
        self._tracks = {k: v for k, v in self._tracks.items() if k in keep}

    def expire(self, stamp: float) -> None:
        """Drop tracks not updated for more than ``max_age`` seconds before ``stamp``."""
        self._tracks = {k: v for k, v in self._tracks.items() if stamp - v.stamp <= self.max_age}

    def update(self, track_id: str, scores: np.ndarray, stamp: float) -> SmoothedEmotion:
        """Fold the probabilities ``scores`` (7, EMOTIONS order) of ``track_id`` seen at ``stamp``
        (seconds) into its state and return the smoothed scores and label."""
        raw = np.asarray(scores, np.float64).reshape(-1)
        if raw.shape != (NUM_EMOTIONS,) or not np.all(np.isfinite(raw)):
            raise ValueError(f"scores must be {NUM_EMOTIONS} finite probabilities in EMOTIONS order, "
                             f"got shape {np.shape(scores)}")
        raw = np.clip(raw, 0.0, None)
        total = raw.sum()
        raw = raw / total if total > 0 else np.full(NUM_EMOTIONS, 1.0 / NUM_EMOTIONS)

        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()
        self._last_stamp = stamp
        self.expire(stamp)

        state = self._tracks.get(track_id)
        if state is None:
            state = _TrackState(raw, int(np.argmax(raw)), stamp, bool(raw.max() < self.uncertain_below))
            self._tracks[track_id] = state
            if len(self._tracks) > self.max_tracks:  # drop the least recently updated
                oldest = min(self._tracks, key=lambda k: self._tracks[k].stamp)
                del self._tracks[oldest]
        else:
            dt = stamp - state.stamp
            alpha = 1.0 if self.time_constant == 0 else 1.0 - math.exp(-dt / self.time_constant)
            state.scores = state.scores + alpha * (raw - state.scores)
            state.stamp = stamp
            best = int(np.argmax(state.scores))
            if state.scores[best] > state.scores[state.held] + self.hysteresis:
                state.held = best
            held = state.scores[state.held] / state.scores.sum()
            if state.uncertain:
                state.uncertain = held < self.uncertain_below + self.hysteresis
            else:
                state.uncertain = held < self.uncertain_below

        return self._emotion(state)

    def current(self, track_id: str) -> SmoothedEmotion | None:
        """The smoothed scores and label of ``track_id`` as the last update left them (None for a
        track without state): for a frame in which the face was seen but not classified."""
        state = self._tracks.get(track_id)
        return None if state is None else self._emotion(state)

    def _emotion(self, state: _TrackState) -> SmoothedEmotion:
        smoothed = (state.scores / state.scores.sum()).astype(np.float32)
        smoothed.setflags(write=False)
        if state.uncertain:
            return SmoothedEmotion(smoothed, UNCERTAIN, float(smoothed.max()))
        return SmoothedEmotion(smoothed, EMOTIONS[state.held], float(smoothed[state.held]))
