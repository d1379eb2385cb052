"""FER2013 faces placed into camera frames, where their framing is known.

A FER2013 face is a tight 48x48 grey square. :func:`place` scales it to ``side`` pixels, surrounds it
with a blurred enlargement of itself (the hair, ears and neck a detector expects around a face,
without features that could be found as a second face), fades that into a background photo and
turns it by ``roll`` degrees about its centre. The face's FER2013 framing in the frame is then
exactly :meth:`Placement.square`: what the detector calibration (fer_models.calibrate_framing) and
the whole-pipeline accuracy benchmark (fer_ros.bench.accuracy) hold the detectors' boxes against.

Backgrounds are photos without people: scikit-image's coffee, rocket, cat and motorcycle and, where
``../shared/data/scenes`` is present, its photo of dogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.types import FaceSquare
from fer_ros.core.image import FRAME_SIZE

CONTEXT = 2.0  # side of the patch placed (face and blurred surround), in face sides
OPAQUE, FADED = 0.75, 0.9  # the surround covers the background up to OPAQUE of the patch's radius, none past FADED
SHARED_BACKGROUNDS = ("dlib_dogs.jpg",)
SIZES = (60, 200)  # face sides in pixels of a random placement, drawn uniformly


@dataclass(frozen=True)
class Placement:
    """Where a face goes: centre (pixels), side (pixels) and roll (degrees counter-clockwise)."""

    cx: float
    cy: float
    side: int
    roll: float = 0.0

    @property
    def square(self) -> FaceSquare:
        """The face's FER2013 framing in the frame."""
        return FaceSquare(self.cx, self.cy, float(self.side), self.roll)

    @property
    def reach(self) -> float:
        """How far from the centre the placed patch changes the frame, in pixels."""
        return FADED * CONTEXT * self.side / 2


def random_placement(rng: np.random.Generator, width: int, height: int, sizes=SIZES) -> Placement:
    """An upright face of a side drawn from ``sizes`` (pixels), anywhere in a ``width`` x ``height``
    frame with room for its surround."""
    side = int(rng.integers(sizes[0], sizes[1] + 1))
    room = int(side * 0.75)
    return Placement(float(rng.integers(room, width - room)), float(rng.integers(room, height - room)), side)


def cover(bgr: np.ndarray, size=FRAME_SIZE) -> np.ndarray:
    """``bgr`` scaled to fill ``size`` (width, height) and cut to it around its centre."""
    width, height = size
    scale = max(width / bgr.shape[1], height / bgr.shape[0])
    resized = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y, x = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def backgrounds(scenes: str | Path | None = None, size=FRAME_SIZE) -> list[tuple[str, np.ndarray]]:
    """(name, BGR frame of ``size``) of photos with no person: scikit-image's, and the
    SHARED_BACKGROUNDS of the folder ``scenes`` where it has them."""
    import skimage.data

    photos = {"coffee": skimage.data.coffee(), "rocket": skimage.data.rocket(), "cat": skimage.data.chelsea(),
              "motorcycle": skimage.data.stereo_motorcycle()[0]}
    found = [(name, cover(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), size)) for name, rgb in photos.items()]
    for name in SHARED_BACKGROUNDS if scenes else ():
        image = cv2.imread(str(Path(scenes) / name))
        if image is not None:
            found.append((name, cover(image, size)))
    return found


def _patch(face: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The grey patch (float32, CONTEXT * ``side`` square) of ``face`` at ``side`` pixels in its
    blurred surround, and its opacity."""
    outer = side + 2 * int(round((CONTEXT - 1) * side / 2))  # the face exactly in the middle
    surround = cv2.GaussianBlur(cv2.resize(face, (outer, outer), interpolation=cv2.INTER_CUBIC).astype(np.float32),
                                (0, 0), outer / 16)
    sharp = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    # a soft edge one FER2013 pixel wide, not a hard square a detector could lock onto
    feather = max(1.0, side / 48)
    edge = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32) + 0.5
    ramp = np.minimum(1.0, edge / feather)
    mask = np.minimum.outer(ramp, ramp)
    o = (outer - side) // 2
    inner = surround[o:o + side, o:o + side]
    surround[o:o + side, o:o + side] = inner + mask * (sharp - inner)
    yy, xx = np.mgrid[0:outer, 0:outer].astype(np.float32)
    radius = np.hypot(xx - (outer - 1) / 2, yy - (outer - 1) / 2) / (outer / 2)
    opacity = np.clip((FADED - radius) / (FADED - OPAQUE), 0, 1).astype(np.float32)
    return surround, opacity


def place(frame: np.ndarray, face: np.ndarray, where: Placement) -> np.ndarray:
    """A copy of ``frame`` (BGR) with the grey 48x48 ``face`` placed at ``where``."""
    patch, opacity = _patch(face, where.side)
    middle = (patch.shape[0] - 1) / 2  # the face's centre, in pixel indices of the patch
    matrix = cv2.getRotationMatrix2D((middle, middle), where.roll, 1.0)
    matrix[0, 2] += where.cx - 0.5 - middle  # to the frame's pixel indices: continuous cx is index cx - 0.5
    matrix[1, 2] += where.cy - 0.5 - middle
    size = (frame.shape[1], frame.shape[0])
    grey = cv2.warpAffine(patch, matrix, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(opacity, matrix, size, flags=cv2.INTER_LINEAR)[..., None]
    out = frame.astype(np.float32)
    out += alpha * (grey[..., None] - out)
    return np.clip(out, 0, 255).astype(np.uint8)


def match(boxes, where: Placement, tolerance: float = 0.35) -> int | None:
    """Index of the box (objects with ``x, y, width, height``) that is the face placed at ``where``:
    its centre within ``tolerance`` face sides of the face's centre and its mean side 0.5-2 times
    the face's (the nearest such), or None."""
    best, best_distance = None, tolerance * where.side
    for i, box in enumerate(boxes):
        distance = np.hypot(box.x + box.width / 2 - where.cx, box.y + box.height / 2 - where.cy)
        if distance <= best_distance and 0.5 <= (box.width + box.height) / 2 / where.side <= 2.0:
            best, best_distance = i, distance
    return best
