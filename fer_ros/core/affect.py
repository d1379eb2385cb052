"""Valence and arousal of a face from its 7 emotion probabilities (a fixed, documented mapping).

Each FER2013 emotion is placed at a point (valence, arousal) of Russell's circumplex model of affect
(J. A. Russell, "A circumplex model of affect", Journal of Personality and Social Psychology 39(6),
1161-1178, 1980): valence runs from unpleasant (-1) to pleasant (+1), arousal from calm/sleepy (-1)
to aroused/excited (+1). A face's (valence, arousal) is the expected value of these points under its
probability vector, so it moves smoothly between emotions and is (0, 0) for a neutral face.

The coordinates are our choice, not measurements: each one lies in the quadrant where Russell's
circumplex puts the corresponding affect word (angry, afraid, sad, astonished, happy), at a radius
below 1. Happy sits at higher arousal than Russell's "happy", nearer "delighted", because FER2013's
happy faces are mostly broad smiles. Disgust is not one of Russell's 28 words; it is placed as
unpleasant with moderate arousal. Both outputs lie in [-1, 1] because every point does. Treat the
values as a coarse summary for behaviours (e.g. "is this person pleased?"), not as a calibrated
valence/arousal regressor.

======== ========= =========
emotion  valence   arousal
======== ========= =========
angry    -0.5      +0.8
disgust  -0.7      +0.3
fear     -0.6      +0.7
happy    +0.8      +0.5
sad      -0.7      -0.4
surprise +0.2      +0.8
neutral   0.0       0.0
======== ========= =========
"""

from __future__ import annotations

import numpy as np

from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS

CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "angry": (-0.5, 0.8),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.7),
    "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4),
    "surprise": (0.2, 0.8),
    "neutral": (0.0, 0.0),
}
# (7, 2) matrix in EMOTIONS order: column 0 valence, column 1 arousal.
COORDINATES = np.array([CIRCUMPLEX[label] for label in EMOTIONS], np.float64)


def valence_arousal_batch(scores: np.ndarray) -> np.ndarray:
    """``(n, 2)`` float32 (valence, arousal) for probabilities ``(n, 7)`` in EMOTIONS order.

    Rows are normalised to sum to 1 first (negative entries count as 0); a row of zeros maps to (0, 0).
    """
    probabilities = np.clip(np.asarray(scores, np.float64), 0.0, None)
    if probabilities.ndim != 2 or probabilities.shape[1] != NUM_EMOTIONS:
        raise ValueError(f"scores must have shape (n, {NUM_EMOTIONS}), got {probabilities.shape}")
    totals = probabilities.sum(axis=1, keepdims=True)
    probabilities = np.divide(probabilities, totals, out=np.zeros_like(probabilities), where=totals > 0)
    return np.clip(probabilities @ COORDINATES, -1.0, 1.0).astype(np.float32)


def valence_arousal(scores: np.ndarray) -> tuple[float, float]:
    """(valence, arousal), each in [-1, 1], of one face's 7 probabilities in EMOTIONS order."""
    row = np.asarray(scores, np.float64)
    if row.shape != (NUM_EMOTIONS,):
        raise ValueError(f"scores must have shape ({NUM_EMOTIONS},), got {row.shape}")
    valence, arousal = valence_arousal_batch(row[None])[0]
    return float(valence), float(arousal)
