"""Face quality gate: sharp vs blurred crops of a real face, size check, size invariance."""

import cv2
import numpy as np
import pytest

from fer_ros.core.quality import BLURRED, DEFAULT_MIN_SHARPNESS, OK, TOO_SMALL, assess, blur_score
from fer_ros.core.types import Box

skimage_data = pytest.importorskip("skimage.data")

FACE = Box(178, 69, 92, 92)  # the Haar detector's box on skimage.data.astronaut()


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    gray = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2GRAY)
    return gray[FACE.y:FACE.y + FACE.height, FACE.x:FACE.x + FACE.width]


def test_sharp_face_passes_and_blurred_face_is_rejected(face):
    sharp = assess(face, FACE)
    assert sharp == assess(face, FACE, 32, DEFAULT_MIN_SHARPNESS)
    assert sharp.ok and sharp.reason == OK and sharp.sharpness > 10 * DEFAULT_MIN_SHARPNESS
    blurred = assess(cv2.GaussianBlur(face, (0, 0), 6), FACE)
    assert not blurred.ok and blurred.reason == BLURRED and blurred.sharpness < DEFAULT_MIN_SHARPNESS


def test_too_small_is_checked_first(face):
    small = assess(cv2.resize(face, (20, 20)), Box(0, 0, 20, 20), min_face_size=32)
    assert small == assess(cv2.resize(face, (20, 20)), Box(0, 0, 20, 20))
    assert not small.ok and small.reason == TOO_SMALL
    assert assess(np.full((20, 20), 128, np.uint8), Box(0, 0, 20, 20)).reason == TOO_SMALL


def test_blur_score_is_comparable_across_sizes_and_accepts_colour(face):
    base = blur_score(face)
    for size in (64, 184, 368):
        assert blur_score(cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)) == pytest.approx(
            base, rel=0.5)
    assert blur_score(cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)) == pytest.approx(base)
    assert blur_score(np.full((60, 60), 90, np.uint8)) == 0.0
    assert blur_score(np.zeros((0, 0), np.uint8)) == 0.0
