"""One crop geometry for every detector: the square of the face the classifier learned from.

FER2013's faces are 48x48 squares with the face framed in one way (brows to chin, cheek to cheek,
about centred). Each detector puts its box somewhere else on a face: Haar's is square and about on
that framing, YuNet's is taller than wide and tighter at the sides, and both come out a little
larger or smaller when the tracking search finds the face again at a small scale. A
:class:`Framing` maps a detector's box to FER2013's framing; it is measured, not set by eye:
``python -m fer_models.calibrate_framing --detector NAME`` places FER2013 Training faces whose framing
is known into camera frames, runs the detector and writes the median offsets and scale to
``fer_ros/core/detectors/NAME_framing.json`` beside the detector (one file per detector, with the
command, data and spread it came from).

:func:`crop_squares` then cuts each :class:`FaceSquare` out of the frame as the classifier's input:
square, never stretched, rotated upright where the detector measured the eye line (``align``), and
padded by repeating the image's edge where the square reaches past a border (never clipped). Every
path to the classifier goes through it: full detections and faces re-found by the tracking search
(with the detector's ``near`` calibration); REP-155's ``/aligned`` crops (fer_ros.core.rep155) are
cut by :func:`crop_square` too, padded with black instead.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.errors import ModelError
from fer_ros.core.types import Box, FaceSquare

DETECTORS_DIR = Path(__file__).resolve().parent / "detectors"
CALIBRATE_COMMAND = "python -m fer_models.calibrate_framing --detector {name}"
MAX_ROLL = 45.0  # degrees: a larger roll read off the eye line is taken as this
# Below this eye-line gain the landmarks show too little of a roll to read it off them (dividing by
# the gain would multiply their noise): YuNet's in the tracking search, on a face 48 pixels wide, show
# a tenth of it. The pipeline then keeps the roll measured at the face's last whole-frame detection.
MIN_EYE_GAIN = 0.25


@dataclass(frozen=True)
class BoxFraming:
    """Where FER2013's framing lies relative to one kind of box of a detector (medians measured on
    FER2013 Training faces): its centre ``dx`` box widths right of and ``dy`` box heights below the
    box's centre, its side ``scale`` times the mean of the box's width and height. ``eye_angle``:
    the median eye-line angle (degrees, as :attr:`FaceSquare.angle`) the detector's landmarks give
    on upright faces; ``eye_gain``: the fraction of a face's roll its eye line shows (YuNet's
    landmarks lean towards upright); both None for a detector without landmarks."""

    dx: float
    dy: float
    scale: float
    eye_angle: float | None = None
    eye_gain: float | None = None

    @property
    def shows_roll(self) -> bool:
        """Whether this detector's landmarks show enough of a face's roll to read it off them."""
        return self.eye_gain is not None and self.eye_gain >= MIN_EYE_GAIN

    def roll(self, box: Box) -> float | None:
        """The roll of the face in ``box`` read off its eye line (degrees, as
        :attr:`FaceSquare.angle`), or None where the box or this detector cannot show it."""
        if not (self.shows_roll and box.landmarks):
            return None
        angle = (eye_line_angle(box.landmarks) - self.eye_angle) / self.eye_gain
        return max(-MAX_ROLL, min(MAX_ROLL, angle))

    def square(self, box: Box, angle: float = 0.0, margin: float = 0.0) -> FaceSquare:
        """The framing of the face in ``box``, rolled by ``angle`` degrees (e.g. :meth:`roll`) and
        grown by ``margin`` (a fraction of its side)."""
        dx, dy = self.dx * box.width, self.dy * box.height
        if angle:  # the offset is the face's own: it turns with the face
            theta = math.radians(angle)
            dx, dy = dx * math.cos(theta) + dy * math.sin(theta), -dx * math.sin(theta) + dy * math.cos(theta)
        cx, cy = box.centre
        side = self.scale * (box.width + box.height) / 2 * (1 + 2 * margin)
        return FaceSquare(cx + dx, cy + dy, side, angle)

    def as_dict(self) -> dict:
        return {"dx": self.dx, "dy": self.dy, "scale": self.scale, "eye_angle": self.eye_angle,
                "eye_gain": self.eye_gain}


@dataclass(frozen=True)
class Framing:
    """A detector's calibration: ``full`` for the boxes of a whole-frame detection, ``near`` for
    those of the tracking search around a known face (fer_ros.core.finder), which runs the detector
    on a small region and may come out a little larger or smaller."""

    detector: str
    full: BoxFraming
    near: BoxFraming

    @classmethod
    def from_dict(cls, raw: dict) -> "Framing":
        return cls(raw["detector"], BoxFraming(**raw["full"]), BoxFraming(**raw["near"]))


def framing_path(detector: str) -> Path:
    """The calibration file of detector ``detector``, beside its module."""
    return DETECTORS_DIR / f"{detector}_framing.json"


@functools.lru_cache(maxsize=None)
def load_framing(detector: str) -> Framing:
    """The calibration of ``detector`` from its file; ModelError saying how to make it when it is
    missing or malformed."""
    path = framing_path(detector)
    try:
        raw = json.loads(path.read_text())
        framing = Framing.from_dict(raw)
    except FileNotFoundError:
        raise ModelError(f"detector {detector!r} has no framing calibration ({path}); measure it with "
                         f"`{CALIBRATE_COMMAND.format(name=detector)}`") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path}: malformed framing calibration ({error!r}); measure it again with "
                         f"`{CALIBRATE_COMMAND.format(name=detector)}`") from None
    if framing.detector != detector:
        raise ModelError(f"{path} calibrates detector {framing.detector!r}, not {detector!r}")
    return framing


def eye_line_angle(landmarks: tuple[float, ...]) -> float:
    """Degrees the line from the face's right eye (left in the image) to its left eye is turned
    counter-clockwise as seen in the image; ``landmarks`` as YuNet gives them (right eye x, y, left
    eye x, y, ...)."""
    rx, ry, lx, ly = landmarks[:4]
    return -math.degrees(math.atan2(ly - ry, lx - rx))


def crop_square(image: np.ndarray, square: FaceSquare, size: int, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """The ``size`` x ``size`` image of ``square`` in ``image`` (grey or colour, uint8): rotated
    upright by ``square.angle``, the image's edge pixels repeated where the square reaches past a
    border (``border`` cv2.BORDER_CONSTANT: black there instead). A square more than twice ``size``
    is sampled at a whole multiple of ``size`` and then reduced by area averaging, as FER2013's faces
    were, instead of aliasing."""
    step = square.side / size  # source pixels per output pixel
    k = max(1, int(step))  # sample k x k points per output pixel, then average them
    n = k * size
    theta = math.radians(square.angle)
    sub = step / k
    cos, sin = sub * math.cos(theta), sub * math.sin(theta)
    middle = (n - 1) / 2
    # sample pixel u lies (u - middle) samples from the square's centre along the face's x axis,
    # which runs (cos, -sin) in the image (y axis: (sin, cos)); the continuous point x is pixel x - 0.5
    matrix = np.array([[cos, sin, square.cx - 0.5 - middle * (cos + sin)],
                       [-sin, cos, square.cy - 0.5 - middle * (cos - sin)]])
    sampled = cv2.warpAffine(image, matrix, (n, n), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=border)
    return sampled if k == 1 else cv2.resize(sampled, (size, size), interpolation=cv2.INTER_AREA)


def to_gray(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr


def crop_squares(bgr: np.ndarray, squares: list[FaceSquare], size: int) -> np.ndarray:
    """Grey ``(n, size, size) uint8`` crops of ``squares`` from ``bgr``: the classifier's batch."""
    batch = np.empty((len(squares), size, size), np.uint8)
    if squares:
        gray = to_gray(bgr)
        for i, square in enumerate(squares):
            batch[i] = crop_square(gray, square, size)
    return batch
