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

    def predict_single(self, faces: np.ndarray) -> np.ndarray:
        """One pass per face (as ``predict`` unless the model averages each face and its mirror
        image: then one of its two passes). The pipeline classifies faces this way, on the views of
        fer_ros.core.views."""
        return self.predict(faces)
