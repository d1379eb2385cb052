"""Face quality gate: reject faces too small or too blurred to classify reliably.

Sharpness is the variance of the Laplacian of the grey crop after resizing it to 48x48 (the
classifier's input size), so one threshold holds for faces of any size in the image.

A face below ``min_sharpness`` (default 50) reads as a coin toss or wrong; real faces score far
above it. The measurements that chose 50: docs/measurements.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core import schema
from fer_ros.core.types import Box, Quality

SHARPNESS_SIZE = 48  # crops are resized to this square before measuring
DEFAULT_MIN_SHARPNESS = schema.default("min_sharpness")  # 50, docs/measurements.md
DEFAULT_MIN_FACE_SIZE = schema.default("min_face_size")  # pixels

OK, TOO_SMALL, BLURRED = "", "too_small", "blurred"  # the values of Quality.reason


def blur_score(gray_crop: np.ndarray) -> float:
    """Variance of the Laplacian of ``gray_crop`` (grey, or BGR converted to grey) resized to 48x48.

    Higher is sharper; 0 for an empty or uniform crop.
    """
    crop = np.asarray(gray_crop)
    if crop.size == 0:
        return 0.0
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if crop.dtype != np.uint8:
        crop = np.clip(crop, 0, 255).astype(np.uint8)
    interpolation = cv2.INTER_AREA if min(crop.shape[:2]) > SHARPNESS_SIZE else cv2.INTER_LINEAR
    small = cv2.resize(crop, (SHARPNESS_SIZE, SHARPNESS_SIZE), interpolation=interpolation)
    return float(cv2.Laplacian(small, cv2.CV_64F).var())


def assess(gray_crop: np.ndarray, box: Box, min_face_size: int = DEFAULT_MIN_FACE_SIZE,
           min_sharpness: float = DEFAULT_MIN_SHARPNESS) -> Quality:
    """Whether the face ``box`` (pixels of the source image) with crop ``gray_crop`` is worth classifying.

    Too small when its shorter side is below ``min_face_size`` pixels; blurred when its
    :func:`blur_score` is below ``min_sharpness``. Size is checked first.
    """
    sharpness = blur_score(gray_crop)
    if min(box.width, box.height) < min_face_size:
        return Quality(False, TOO_SMALL, sharpness)
    if sharpness < min_sharpness:
        return Quality(False, BLURRED, sharpness)
    return Quality(True, OK, sharpness)
