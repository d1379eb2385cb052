"""The interface every face detector backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from fer_ros.core.framing import Framing, load_framing
from fer_ros.core.types import Box


class FaceDetector(ABC):
    """Finds faces in a BGR image."""

    name = "base"
    # Side in pixels a known face is scaled to when it is looked for again near its last box
    # (fer_ros.core.finder): small enough to be cheap, large enough for the detector to find it.
    roi_face_size = 40
    # Where a search at roi_face_size finds nothing, the side of a second, larger look (0: none):
    # for a detector that misses faces so small in the hard cases (dim, low-contrast, soft faces)
    roi_retry_size = 0

    @property
    def framing(self) -> Framing:
        """Where FER2013's framing lies relative to this detector's boxes: measured by
        ``python -m fer_models.calibrate_framing --detector NAME`` into ``NAME_framing.json`` beside
        the detector (fer_ros.core.framing); ModelError saying so when that file is missing."""
        return load_framing(self.name)

    @abstractmethod
    def detect(self, bgr: np.ndarray, min_face_size: int = 32, max_face_size: int = 0) -> list[Box]:
        """Return the faces in ``bgr`` (H x W x 3 uint8) whose side is at least ``min_face_size``
        and, unless ``max_face_size`` is 0, at most that many pixels, best first."""

    def detect_near(self, region: np.ndarray, min_face_size: int, max_face_size: int) -> list[Box]:
        """Faces in ``region``, a small square cut around a known face and scaled so that the face is
        about ``roi_face_size`` pixels (fer_ros.core.finder). The same as :meth:`detect` unless a
        backend can afford a finer search on so small an image."""
        return self.detect(region, min_face_size, max_face_size)
