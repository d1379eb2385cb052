"""OpenCV's frontal-face Haar cascade: no model file of ours, the cascade comes with OpenCV.

opencv-python 4.x wheels carry the cascades inside (``cv2.data``); a distribution's OpenCV, the one a
robot's ROS uses, does not: Debian and Ubuntu put them in the ``opencv-data`` package under
``/usr/share/opencv4/haarcascades``, which ``python3-opencv`` does not pull in (README, "On a robot")."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.errors import ModelError
from fer_ros.core.types import Box

CASCADE_FILE = "haarcascade_frontalface_alt2.xml"  # fewer false positives than _default
# The coarsest scaleFactor of the search near a known face (fer_ros.core.finder), whatever the full
# frame's: coarser steps lose faces between sizes, finer ones cost more per search (docs/measurements.md).
ROI_SCALE_FACTOR = 1.15


# Where OpenCV builds that are not wheels put the cascades, after the wheel's own cv2.data: Debian and
# Ubuntu's opencv-data (every ROS 2 distribution on them), older packages, builds from source, conda.
SYSTEM_CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
                       "/usr/local/share/opencv4/haarcascades", "/usr/local/share/opencv/haarcascades")
INSTALL_HINT = ("on Debian or Ubuntu (a ROS install): sudo apt install opencv-data; with pip's OpenCV: "
                "pip install 'opencv-python-headless<5' (5.x ships no cascades); or choose detector 'yunet'")


def cascade_dirs() -> list[Path]:
    """The folders searched for the cascade, in order: cv2.data's, $CONDA_PREFIX's, the system's."""
    dirs = []
    data = getattr(cv2, "data", None)
    if data is not None and getattr(data, "haarcascades", ""):
        dirs.append(Path(data.haarcascades))
    if os.environ.get("CONDA_PREFIX"):
        dirs.append(Path(os.environ["CONDA_PREFIX"]) / "share" / "opencv4" / "haarcascades")
    return dirs + [Path(d) for d in SYSTEM_CASCADE_DIRS]


def default_cascade_path(dirs: list[Path] | None = None) -> Path:
    """The first ``CASCADE_FILE`` in ``dirs`` (default :func:`cascade_dirs`); ModelError naming the
    folders searched and the package that brings it when there is none."""
    dirs = cascade_dirs() if dirs is None else dirs
    for folder in dirs:
        if (folder / CASCADE_FILE).is_file():
            return folder / CASCADE_FILE
    raise ModelError(f"detector 'haar' needs OpenCV's cascade {CASCADE_FILE}, found in none of "
                     f"{', '.join(map(str, dirs))} (OpenCV {cv2.__version__}): {INSTALL_HINT}")


class HaarDetector(FaceDetector):
    """Viola-Jones cascade on the equalised grey image. It has no score: every box gets 1.0; a box is
    sure when at least ``sure_neighbours`` raw detections make it up (real faces in our photos: 6-51,
    mostly 11 and more; false ones: 2-4, docs/measurements.md)."""

    sure_neighbours = 10

    name = "haar"
    roi_face_size = 48  # a little over twice the cascade's 20-pixel window (docs/measurements.md)

    def __init__(self, min_neighbors: int = 4, scale_factor: float = 1.15, cascade_path: str | None = None,
                 roi_scale_factor: float = ROI_SCALE_FACTOR):
        path = Path(cascade_path) if cascade_path else default_cascade_path()
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV raises on some files that are not cascades, loads none of others
            self._cascade = cv2.CascadeClassifier()
        if self._cascade.empty():
            raise ModelError(f"{path}: not an OpenCV cascade file OpenCV can read: {INSTALL_HINT}")
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
        found, neighbours = self._cascade.detectMultiScale2(
            gray, scaleFactor=scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_face_size, min_face_size), maxSize=(max_face_size, max_face_size))
        boxes = [Box(int(x), int(y), int(w), int(h), 1.0, sure=int(n) >= self.sure_neighbours)
                 for (x, y, w, h), n in zip(found, neighbours)]
        return sorted(boxes, key=lambda b: b.area, reverse=True)
