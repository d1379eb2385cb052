"""Turn detected face boxes into the classifier's input: crop with a margin, grey, resize, batch."""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.types import Box


def expand(box: Box, margin: float, image_width: int, image_height: int) -> Box:
    """Grow ``box`` by ``margin`` (fraction of its size) on every side, clipped to the image."""
    dx, dy = int(round(box.width * margin)), int(round(box.height * margin))
    grown = Box(box.x - dx, box.y - dy, box.width + 2 * dx, box.height + 2 * dy, box.score)
    return grown.clipped(image_width, image_height)


def crop_faces(bgr: np.ndarray, boxes: list[Box], size: int, margin: float) -> np.ndarray:
    """Grey ``(n, size, size) uint8`` crops of ``boxes`` from ``bgr``; all faces in one batch."""
    height, width = bgr.shape[:2]
    batch = np.empty((len(boxes), size, size), np.uint8)
    for i, box in enumerate(boxes):
        region = expand(box, margin, width, height)
        crop = bgr[region.y:region.y + region.height, region.x:region.x + region.width]
        gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
        interpolation = cv2.INTER_AREA if min(gray.shape) > size else cv2.INTER_LINEAR
        batch[i] = cv2.resize(gray, (size, size), interpolation=interpolation)
    return batch
