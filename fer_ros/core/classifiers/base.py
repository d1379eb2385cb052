"""The interface every emotion classifier backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class EmotionBackend(ABC):
    """Classifies batches of grey face crops into the 7 FER2013 emotions."""

    name: str  # model name, published in FaceEmotionArray.model
    input_size: int  # square crop side in pixels that predict expects

    @abstractmethod
    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, 7)`` float32 in EMOTIONS order, each row summing to 1, for grey crops
        ``(n, input_size, input_size) uint8``; ``n`` may be 0."""

    @property
    def alternates_mirror(self) -> bool:
        """True when ``predict`` averages the face and its mirror image and ``predict_single`` is
        one pass: video then classifies a tracked face and its mirror image on alternate frames."""
        return False

    def predict_single(self, faces: np.ndarray) -> np.ndarray:
        """One pass per face (as ``predict`` unless the model is mirror-averaged)."""
        return self.predict(faces)
