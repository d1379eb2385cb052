"""YuNet through OpenCV's ``cv2.FaceDetectorYN``, for the benchmark only: the way the node ran YuNet
before it ran in ONNX Runtime (fer_ros.core.detectors.yunet), timed beside it as the system
``ours_yunet_opencv``. Needs OpenCV 4.8 or newer (older ones cannot read the 2023mar model)."""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.detectors.yunet import YuNetDetector


def opencv_can_run_yunet() -> bool:
    return hasattr(cv2, "FaceDetectorYN") and tuple(int(v) for v in cv2.__version__.split(".")[:2]) >= (4, 8)


class OpenCvYuNet(YuNetDetector):
    """The pipeline's YuNet detector with ``faces`` from ``cv2.FaceDetectorYN``: one network per input
    size, as the node kept them (whole frames and the search regions do not resize one back and forth)."""

    def __init__(self, model_path: str = "", score_threshold: float = 0.87, nms_threshold: float = 0.3,
                 top_k: int = 500):
        super().__init__(model_path, score_threshold, nms_threshold, top_k)
        self._model_path = model_path
        self._nets: dict[tuple[int, int], cv2.FaceDetectorYN] = {}

    def faces(self, bgr: np.ndarray) -> np.ndarray:
        size = (bgr.shape[1], bgr.shape[0])
        net = self._nets.get(size)
        if net is None:
            if len(self._nets) >= 4:
                self._nets.clear()
            net = self._nets[size] = cv2.FaceDetectorYN.create(
                self._model_path, "", size, self.score_threshold, self.nms_threshold, self.top_k)
        _, found = net.detect(np.ascontiguousarray(bgr))
        return np.zeros((0, 15), np.float32) if found is None else found
