"""Face quality gate: reject faces too small or too blurred to classify reliably.

Sharpness is the variance of the Laplacian of the grey crop after resizing it to 48x48 (the
classifier's input size), so one threshold holds for faces of any size in the image.

How ``DEFAULT_MIN_SHARPNESS = 50`` was chosen (Haar box x=178 y=69 92x92 of ``skimage.data.astronaut()``,
whole image Gaussian-blurred with sigma in source pixels; "happy" is the correct label):

=========== ========= =================================
blur sigma  sharpness classifier (fernet_w24, epoch-5 checkpoint)
=========== ========= =================================
0 (sharp)   1334      happy 0.77
2           166       happy 0.88
3           80        happy 0.71
3.5         61        happy 0.51
4           49        happy 0.37 (still argmax, barely)
5           32        angry wins
6           22        sad wins
=========== ========= =================================

Below about 50 the label is a coin toss or wrong. Real faces score far above it: every face the Haar
detector finds in the scene photos of ``../shared/data/scenes`` scores 298 or more (the lowest are
35-41 pixel faces), and only 0.01% of a 8053-image sample of FER2013 (the training data) is below 50
(0.1st percentile: 169). The measure also scales with contrast squared, so a very dim, flat face can
fall under it; that face is hard to classify too.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core import schema
from fer_ros.core.types import Box, Quality

SHARPNESS_SIZE = 48  # crops are resized to this square before measuring
DEFAULT_MIN_SHARPNESS = schema.default("min_sharpness")  # 50, see the module docstring
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
