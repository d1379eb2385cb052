"""Several looks at one face, averaged over time: test-time augmentation at the cost of one pass.

The classifier is sensitive to how a face is framed (a square 5% too large costs about 2 points
on FER2013 PublicTest) and to the side it faces, and no detector frames a face exactly as FER2013
did. Averaging its probabilities over a few views of a face (the square a little smaller or
larger, a little higher or lower, mirrored) takes that out: on PublicTest faces placed in frames
and found by Haar, 0.691 with one mirrored pair against 0.701 averaged over :data:`CYCLE`
(docs/accuracy.md, ``python -m fer_ros.bench.accuracy``).

In video that costs nothing: a face seen for the first time is classified on :data:`FIRST`
(the face and its mirror image), and each later classification of it takes the next view of
:data:`CYCLE`, so the per-face smoothing (fer_ros.core.smoothing) averages the views over time.
Without smoothing every classification is :data:`FIRST`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fer_ros.core.emotions import NUM_EMOTIONS
from fer_ros.core.framing import crop_square, to_gray
from fer_ros.core.types import FaceSquare


@dataclass(frozen=True)
class View:
    """A look at a face: its square scaled by ``scale`` and moved ``dy`` of its side down along the
    face's own vertical axis, and mirrored left to right or not."""

    scale: float = 1.0
    dy: float = 0.0
    mirror: bool = False

    def of(self, square: FaceSquare) -> FaceSquare:
        theta = math.radians(square.angle)
        shift = self.dy * square.side  # the face's "down" is (sin, cos) in the image
        return FaceSquare(square.cx + shift * math.sin(theta), square.cy + shift * math.cos(theta),
                          square.side * self.scale, square.angle)


FIRST = (View(), View(mirror=True))  # a face's first classification: the face and its mirror image
# Later classifications, one view each, in turn: five framings (measured on FER2013 Training and the
# accuracy bench, docs/accuracy.md), each once as seen and once mirrored, the mirror alternating.
CYCLE = (View(), View(0.92, mirror=True), View(1.08), View(dy=-0.04, mirror=True), View(dy=0.04),
         View(mirror=True), View(0.92), View(1.08, mirror=True), View(dy=-0.04), View(dy=0.04, mirror=True))


def views_for(classified: int, smoothing: bool) -> tuple[View, ...]:
    """The views of a face's next classification, after ``classified`` earlier ones."""
    if classified == 0 or not smoothing:
        return FIRST
    return (CYCLE[(classified - 1) % len(CYCLE)],)


def view_batch(image, squares: list[FaceSquare], views: list[tuple[View, ...]],
               size: int) -> tuple[np.ndarray, np.ndarray]:
    """The grey crops of every view of every face (one batch) and, per crop, the index of its face.
    ``image``: the frame all ``squares`` lie in, or one image per square (crops another node cut)."""
    grays = [to_gray(image)] * len(squares) if isinstance(image, np.ndarray) else [to_gray(i) for i in image]
    crops, owners = [], []
    for k, (gray, square, these) in enumerate(zip(grays, squares, views)):
        for view in these:
            crop = crop_square(gray, view.of(square), size)
            crops.append(crop[:, ::-1] if view.mirror else crop)
            owners.append(k)
    return (np.stack(crops) if crops else np.empty((0, size, size), np.uint8)), np.array(owners, np.int64)


def view_probabilities(classifier, image, squares: list[FaceSquare],
                       views: list[tuple[View, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """``classifier``'s single pass on every view of every face in ``squares`` (of ``image``, as
    :func:`view_batch`), one batch: the probabilities ``(m, 7)``, a row per view, and per row the
    index of its face."""
    batch, owners = view_batch(image, squares, views, classifier.input_size)
    each = classifier.predict_single(batch) if len(batch) else np.empty((0, NUM_EMOTIONS), np.float32)
    return each, owners


def average_views(each: np.ndarray, owners: np.ndarray, faces: int) -> np.ndarray:
    """Probabilities ``(faces, 7)``: the rows of ``each`` averaged per face (``owners``, as
    :func:`view_probabilities` gives them), summed in their order."""
    scores = np.zeros((faces, NUM_EMOTIONS), np.float64)
    if len(each):
        np.add.at(scores, owners, each)
        scores /= np.bincount(owners, minlength=faces)[:, None].clip(min=1)
    return scores.astype(np.float32)


def classify_views(classifier, image, squares: list[FaceSquare], views: list[tuple[View, ...]]) -> np.ndarray:
    """Probabilities ``(n, 7)`` of each face in ``squares`` (of ``image``, as :func:`view_batch`):
    ``classifier``'s single pass on each of its ``views``, averaged; one batch for all faces."""
    return average_views(*view_probabilities(classifier, image, squares, views), len(squares))
