"""What a label is worth: how often a published label (not ``uncertain``) is right, against the
share of faces that get one, at several ``uncertain_below`` / ``hysteresis`` settings.

    python -m fer_ros.bench.accuracy --systems yunet --scores scores.npz --risk-coverage   # run, then the table
    python -m fer_ros.bench.accuracy --risk-coverage scores.npz                            # again, from the file

The accuracy bench's video path (fer_ros.bench.accuracy) stores, with ``--scores``, every found face's
probabilities: its first classification (the face and its mirror image on the whole-frame
detection's square) and one per view of fer_ros.core.views.CYCLE on the square the tracking search
re-found it at. :func:`replay` feeds them to the pipeline's own per-face state (FaceEmotionState and
EmotionSmoother, fer_ros.core.smoothing) in the order the pipeline classifies a watched face (first
the face and its mirror image, then the cycle's views in turn), one classification every
``classify_every`` / ``fps`` seconds, so each setting's labels are the ones the node would publish
for that face held still before the camera, the uncertain band's and the label's hysteresis
included. A face the pipeline found too small or blurred is reported ``uncertain`` at every setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.face_state import FaceEmotionState
from fer_ros.core.smoothing import EmotionSmoother

UNCERTAIN = -1  # a replayed label: uncertain
UNCERTAIN_BELOW = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7)  # the settings of the table, by default
HYSTERESIS = (0.05, 0.1, 0.2)
WATCH = 1.0  # seconds a face is watched: its label at the end, and every label on the way


@dataclass(frozen=True)
class Row:
    """One setting on one system and model: the labels at the face's first classification, at the
    end of the watch and over every classification of it, on the faces found."""

    uncertain_below: float
    hysteresis: float
    faces: int  # faces found (the denominator of coverage)
    first_coverage: float  # share of faces labelled at their first classification
    first_precision: float | None  # share of those labels that are right
    coverage: float  # share of faces labelled at the end of the watch
    precision: float | None  # share of those labels that are right
    precision_error: float | None  # its binomial standard error
    right: float  # share of faces labelled right at the end (coverage x precision)
    watch_coverage: float  # share of the face-classifications of the watch that published a label
    watch_precision: float | None
    changes: float  # label changes per face over the watch (uncertain counts as a label)


def replay(first: np.ndarray, views: np.ndarray, fit: bool, smoother: EmotionSmoother, steps: int,
           dt: float) -> np.ndarray:
    """The labels (index into EMOTIONS, or UNCERTAIN) a face published after each of its ``steps``
    classifications, ``dt`` seconds apart: ``first`` (7,) its first, then ``views`` (len(CYCLE), 7)
    in turn, through the pipeline's own per-face state. ``fit``: the pipeline's quality verdict (an
    unfit face is not classified, and is reported uncertain)."""
    labels = np.full(steps, UNCERTAIN, np.int64)
    if not fit:
        return labels
    state = FaceEmotionState()
    for k in range(steps):
        raw = first if k == 0 else views[(k - 1) % len(views)]
        state.classified_as(raw, k * dt, k, smoother)
        label = state.report()[1].label
        labels[k] = EMOTIONS.index(label) if label in EMOTIONS else UNCERTAIN
    return labels


def share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def rate(right: np.ndarray, given: np.ndarray) -> float | None:
    return float(right[given].mean()) if given.any() else None


def table(first: np.ndarray, views: np.ndarray, fit: np.ndarray, truth: np.ndarray,
          uncertain_below=UNCERTAIN_BELOW, hysteresis=HYSTERESIS, watch: float = WATCH, fps: float = 30.0,
          classify_every: int = 2, time_constant: float = 0.5) -> list[Row]:
    """One Row per (uncertain_below, hysteresis), on the faces given: ``first`` (n, 7), ``views``
    (n, len(CYCLE), 7), ``fit`` (n,) and ``truth`` (n,) their true labels. The face is classified
    every ``classify_every`` frames at ``fps`` for ``watch`` seconds (its first classification at 0)."""
    dt = classify_every / fps
    steps = int(np.floor(watch / dt + 1e-9)) + 1
    truth = np.asarray(truth)[:, None]
    rows = []
    for h in hysteresis:
        for u in uncertain_below:
            smoother = EmotionSmoother(time_constant, h, u)
            labels = np.array([replay(f, v, bool(ok), smoother, steps, dt) for f, v, ok in zip(first, views, fit)],
                              np.int64).reshape(len(first), steps)
            given, right = labels != UNCERTAIN, labels == truth
            end = given[:, -1]
            precision = rate(right[:, -1], end)
            rows.append(Row(
                u, h, len(first), share(given[:, 0]), rate(right[:, 0], given[:, 0]), share(end), precision,
                None if precision is None else (precision * (1 - precision) / end.sum()) ** 0.5,
                share(right[:, -1]), share(given), rate(right, given),
                float((labels[:, 1:] != labels[:, :-1]).sum() / len(labels)) if len(labels) else 0.0))
    rows.sort(key=lambda r: (r.hysteresis, r.uncertain_below))
    return rows


def faces_of(scores: dict, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From a ``--scores`` file's arrays, ``key`` (system/model): the found faces' first
    classification, views, quality verdict and their indices among the placed faces."""
    views = scores[f"{key}/views"]
    found = np.flatnonzero(np.isfinite(views[:, 0, 0]))
    first = scores[f"{key}/first"][found]
    near = views[found]
    # a face the whole-frame detection missed (found by the search alone): its first look on the
    # search's square, the face and its mirror image as the pipeline would classify it there
    missing = ~np.isfinite(first[:, 0])
    first[missing] = (near[missing, 0] + near[missing, 5]) / 2
    return first, near, scores[f"{key}/fit"][found], found


def keys(scores: dict) -> list[str]:
    """The system/model pairs a ``--scores`` file holds."""
    return sorted({k.rsplit("/", 1)[0] for k in scores if k.endswith("/views")})


def print_table(key: str, rows: list[Row], placed: int, watch: float, average: float | None = None) -> None:
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    print(f"\n{key}: {rows[0].faces if rows else 0} of {placed} placed faces found"
          + ("" if average is None else f" (the average over the cycle's views, the bench's video label, right for "
             f"{pct(average)}%)") + f"; labels as the node publishes them for a face watched {watch:g} s")
    print("| uncertain_below | hysteresis | first: labelled | first: right | labelled | right | right of found "
          "| watch: labelled | watch: right | changes per face |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        error = "" if r.precision_error is None else f" +- {100 * r.precision_error:.1f}"
        print(f"| {r.uncertain_below:g} | {r.hysteresis:g} | {pct(r.first_coverage)} | {pct(r.first_precision)} "
              f"| {pct(r.coverage)} | {pct(r.precision)}{error} | {pct(r.right)} | {pct(r.watch_coverage)} "
              f"| {pct(r.watch_precision)} | {r.changes:.2f} |")
    print(f"(percent of the faces found; first: at its first classification; labelled, right: at {watch:g} s, "
          "right: of the labels given (+- one standard error); right of found: labelled and right; watch: over "
          "every classification of the watch; changes: label changes per face over it, 'uncertain' counting as "
          "a label)")


def report(scores: dict, uncertain_below=UNCERTAIN_BELOW, hysteresis=HYSTERESIS, watch: float = WATCH,
           fps: float = 30.0, classify_every: int = 2, time_constant: float = 0.5) -> dict:
    """Every system/model's rows, printed and returned ({key: [Row]})."""
    truth = scores["truth"]
    out = {}
    for key in keys(scores):
        first, views, fit, found = faces_of(scores, key)
        out[key] = table(first, views, fit, truth[found], uncertain_below, hysteresis, watch, fps, classify_every,
                         time_constant)
        average = float((views.mean(axis=1).argmax(axis=1) == truth[found]).mean()) if len(found) else None
        print_table(key, out[key], len(truth), watch, average)
    return out
