"""OpenCV's frontal-face Haar cascade: ships inside opencv-python 4.x, needs no model file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.errors import ModelError
from fer_ros.core.types import Box

CASCADE_FILE = "haarcascade_frontalface_alt2.xml"  # fewer false positives than _default
# The coarsest scaleFactor of the search near a known face (fer_ros.core.finder), whatever the full
# frame's: coarser steps lose faces between sizes. 1.1 finds a moving face again more often (0.994
# against 0.982 of jittered boxes) but costs 1.2-1.5x per search, and with 6 faces fer_node at 30 Hz
# answered fewer frames (python -m fer_ros.bench.roi_search, docs/benchmark.md).
ROI_SCALE_FACTOR = 1.15


def default_cascade_path() -> Path:
    data = getattr(cv2, "data", None)
    path = Path(data.haarcascades) / CASCADE_FILE if data is not None else Path(CASCADE_FILE)
    if not path.is_file():
        raise ModelError(
            f"Haar cascade {CASCADE_FILE} not found (OpenCV {cv2.__version__}); opencv-python 5.x no longer "
            "ships it. Install 'opencv-python-headless<5' or choose detector 'yunet'.")
    return path


class HaarDetector(FaceDetector):
    """Viola-Jones cascade on the equalised grey image. It has no score: every box gets 1.0."""

    name = "haar"
    roi_face_size = 48  # a little over twice the cascade's 20-pixel window (measured: 40 misses more)

    def __init__(self, min_neighbors: int = 4, scale_factor: float = 1.15, cascade_path: str | None = None,
                 roi_scale_factor: float = ROI_SCALE_FACTOR, **_ignored):
        path = Path(cascade_path) if cascade_path else default_cascade_path()
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelError(f"{path}: not a valid OpenCV cascade file")
        self.min_neighbors = min_neighbors
        self.scale_factor = scale_factor
        self.roi_scale_factor = roi_scale_factor

    def detect(self, bgr: np.ndarray, min_face_size: int = 32, max_face_size: int = 0) -> list[Box]:
        return self._detect(bgr, self.scale_factor, min_face_size, max_face_size)

    def detect_near(self, region: np.ndarray, min_face_size: int, max_face_size: int) -> list[Box]:
        """The finer of ``scale_factor`` and ``roi_scale_factor``: the region is small, and the face in
        it must not be lost between two sizes of the scale pyramid."""
        return self._detect(region, min(self.scale_factor, self.roi_scale_factor), min_face_size, max_face_size)

    def _detect(self, bgr: np.ndarray, scale_factor: float, min_face_size: int, max_face_size: int) -> list[Box]:
        gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_face_size, min_face_size), maxSize=(max_face_size, max_face_size))
        boxes = [Box(int(x), int(y), int(w), int(h), 1.0) for x, y, w, h in found]
        return sorted(boxes, key=lambda b: b.area, reverse=True)
