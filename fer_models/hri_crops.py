"""The face crops ROS4HRI's face detector publishes, emulated on our frames, and their calibration.

    python -m fer_models.calibrate_framing --detector hri_face_detect --yunet-model face_detection_yunet_2023mar.onnx
    python -m fer_models.calibrate_framing --detector hri_face_detect_aligned --yunet-model ...

fer_hri_recognizer classifies the crops another node cut (fer_ros.core.crops): it takes each crop as
the box of a detector whose box is the whole crop, and a calibration says where FER2013's framing
lies in it, measured as for our own detectors (fer_models.calibrate_framing): FER2013 Training faces
placed into frames where their framing is known (fer_models.placement), cut out by the rule below,
and the framing expressed relative to the crop.

The rule, read from ros4hri/hri_face_detect (ROS 2, ``hri_face_detect/node_face_detect.py``):

- faces are found by YuNet (libfacedetection's CNN) on the frame scaled by ``image_scale`` (0.5 by
  default, INTER_AREA); box and landmarks are scaled back with ``int(v / image_scale)`` and the box
  is clipped to the image (its right and bottom edge to the last pixel);
- ``/humans/faces/<id>/cropped``: the box's pixels scaled by one factor (the largest that fits, so
  the aspect ratio is kept) to fit ``width`` x ``height`` (parameters ``/humans/faces/width`` and
  ``height``, 128 by default), centred on black (:func:`cropped`);
- ``/humans/faces/<id>/aligned``: the region around the box (half a box more on every side, clipped
  to the image) turned about its centre until the line between the two eye landmarks is level, the
  same box cut from it and fitted the same way (:func:`aligned`).

Emulated here with OpenCV's YuNet (face_detection_yunet_2023mar), the same network family as
libfacedetection's build but not the same weights: where that build puts its boxes differently on a
face, the calibration is off by as much (not measured: the build is not available here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fer_ros.core.framing import eye_line_angle
from fer_ros.core.types import Box, FaceSquare

IMAGE_SCALE = 0.5  # hri_face_detect's image_scale default
CROP_SIZE = 128  # REP-155's /humans/faces/width and /height defaults
SOURCES = {"hri_face_detect": "cropped", "hri_face_detect_aligned": "aligned"}  # calibration -> topic


def detect(detector, frame: np.ndarray, image_scale: float = IMAGE_SCALE) -> list[Box]:
    """The faces hri_face_detect would find in ``frame``, with ``detector`` (our YuNet) in its place:
    boxes and landmarks in pixels of ``frame``, clipped to it as it clips them."""
    small = cv2.resize(frame, None, fx=image_scale, fy=image_scale, interpolation=cv2.INTER_AREA)
    height, width = frame.shape[:2]
    back = 1.0 / image_scale
    found = []
    for box in detector.detect(small, 1):
        x0, y0 = int(box.x * back), int(box.y * back)
        x1, y1 = x0 + int(box.width * back), y0 + int(box.height * back)
        x0, y0 = min(max(x0, 0), width - 1), min(max(y0, 0), height - 1)
        w, h = min(max(x1 - x0, 0), width - 1 - x0), min(max(y1 - y0, 0), height - 1 - y0)
        if w > 0 and h > 0:
            found.append(Box(x0, y0, w, h, box.score, tuple(float(int(v * back)) for v in box.landmarks)))
    return found


@dataclass(frozen=True)
class Fit:
    """How a box of the frame is fitted into a ``size`` x ``size`` crop: a point ``(x, y)`` of the
    frame (continuous pixel coordinates) lies at ``((x - box.x) * scale + left, (y - box.y) * scale
    + top)`` of the crop."""

    box: Box
    scale: float
    left: int
    top: int
    size: int

    @classmethod
    def of(cls, box: Box, size: int = CROP_SIZE) -> "Fit":
        scale = min(size / box.width, size / box.height)
        width, height = round(box.width * scale), round(box.height * scale)  # as cv2.resize sizes it
        return cls(box, scale, int((size - width) / 2), int((size - height) / 2), size)

    def place(self, square: FaceSquare) -> FaceSquare:
        """``square`` (a face's framing in the frame) in the crop's coordinates."""
        return FaceSquare((square.cx - self.box.x) * self.scale + self.left,
                          (square.cy - self.box.y) * self.scale + self.top, square.side * self.scale, square.angle)

    def cut(self, image: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """The crop: the box's pixels of ``image`` (whose top-left pixel is ``origin`` of the
        frame), scaled by ``scale`` and centred on black."""
        x, y = self.box.x - origin[0], self.box.y - origin[1]
        roi = image[y:y + self.box.height, x:x + self.box.width]
        scaled = cv2.resize(roi, None, fx=self.scale, fy=self.scale)
        scaled = scaled[:self.size - self.top, :self.size - self.left]
        out = np.zeros((self.size, self.size, 3), np.uint8)
        out[self.top:self.top + scaled.shape[0], self.left:self.left + scaled.shape[1]] = scaled
        return out


def cropped(frame: np.ndarray, box: Box, size: int = CROP_SIZE) -> np.ndarray:
    """hri_face_detect's ``/cropped`` image of the face in ``box``."""
    return Fit.of(box, size).cut(frame)


@dataclass(frozen=True)
class Turn:
    """The turn of ``/aligned``: the region ``(x0, y0, x1, y1)`` of the frame around the box,
    turned ``angle`` degrees counter-clockwise as seen about its centre."""

    region: tuple[int, int, int, int]
    angle: float

    @classmethod
    def of(cls, box: Box, width: int, height: int) -> "Turn":
        """The turn for ``box`` (with its eye landmarks) in a ``width`` x ``height`` frame: the eye
        line's angle undone."""
        x0, x1 = max(0, box.x - box.width // 2), min(box.x + box.width + box.width // 2, width)
        y0, y1 = max(0, box.y - box.height // 2), min(box.y + box.height + box.height // 2, height)
        return cls((x0, y0, x1, y1), -eye_line_angle(box.landmarks))

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.region
        return (x0 + x1) / 2, (y0 + y1) / 2

    def place(self, square: FaceSquare) -> FaceSquare:
        """``square`` of the frame where the turn moves it (still in the frame's coordinates)."""
        cx, cy = self.centre
        theta = math.radians(self.angle)  # counter-clockwise as seen: y points down
        dx, dy = square.cx - cx, square.cy - cy
        return FaceSquare(cx + dx * math.cos(theta) + dy * math.sin(theta),
                          cy - dx * math.sin(theta) + dy * math.cos(theta), square.side, square.angle + self.angle)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """The region of ``frame``, turned (bilinear, black where nothing turns in)."""
        x0, y0, x1, y1 = self.region
        region = frame[y0:y1, x0:x1]
        cx, cy = (x1 - x0) / 2 - 0.5, (y1 - y0) / 2 - 0.5  # the centre in pixel indices
        matrix = cv2.getRotationMatrix2D((cx, cy), self.angle, 1.0)
        return cv2.warpAffine(region, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)


def aligned(frame: np.ndarray, box: Box, size: int = CROP_SIZE) -> np.ndarray:
    """hri_face_detect's ``/aligned`` image of the face in ``box`` (with its eye landmarks)."""
    turn = Turn.of(box, frame.shape[1], frame.shape[0])
    return Fit.of(box, size).cut(turn.apply(frame), turn.region[:2])


def framing_in_crop(square: FaceSquare, box: Box, source: str, frame_size: tuple[int, int],
                    size: int = CROP_SIZE) -> FaceSquare:
    """Where the face whose framing in the frame is ``square`` lies in the ``source`` crop
    ("cropped" or "aligned") cut for ``box``."""
    if source == "aligned":
        square = Turn.of(box, *frame_size).place(square)
    return Fit.of(box, size).place(square)
