"""The interface every face detector backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from fer_ros.core.types import Box


class FaceDetector(ABC):
    """Finds faces in a BGR image."""

    name = "base"

    @abstractmethod
    def detect(self, bgr: np.ndarray, min_face_size: int = 32) -> list[Box]:
        """Return the faces of at least ``min_face_size`` pixels in ``bgr`` (H x W x 3 uint8), best first."""
