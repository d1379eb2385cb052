"""OpenCV's YuNet CNN face detector (cv2.FaceDetectorYN); the user supplies the ONNX model file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.types import Box

DOWNLOAD_HINT = ("get face_detection_yunet_2023mar.onnx from the OpenCV model zoo "
                 "(opencv_zoo/models/face_detection_yunet) and set its path")


class YuNetDetector(FaceDetector):
    """YuNet returns a score per face; boxes below ``score_threshold`` are dropped. It was trained
    on images of about 640 pixels: the pipeline's ``detection_max_side`` keeps frames near that."""

    name = "yunet"
    roi_face_size = 48
    # A miss at 48 px is looked for again at 80 (python -m fer_ros.bench.roi_search --detector yunet,
    # docs/benchmark.md): at 48 YuNet loses dim and low-contrast faces that 80 finds, and 80 costs more
    # on every search. The framing calibration's ``near`` is measured over both looks, as the search
    # runs them.
    roi_retry_size = 80

    def __init__(self, model_path: str = "", score_threshold: float = 0.87, nms_threshold: float = 0.3,
                 top_k: int = 500, **_ignored):
        if not model_path:
            raise ConfigError(f"detector 'yunet' needs a model file: {DOWNLOAD_HINT} (parameter yunet_model)")
        if not Path(model_path).is_file():
            raise ModelError(f"YuNet model {model_path} does not exist: {DOWNLOAD_HINT}")
        if not hasattr(cv2, "FaceDetectorYN"):
            raise ModelError(f"OpenCV {cv2.__version__} has no FaceDetectorYN; install opencv-python>=4.8")
        self._options = (str(model_path), "", (320, 320), score_threshold, nms_threshold, top_k)
        self._nets: dict[tuple[int, int], cv2.FaceDetectorYN] = {}
        self._net_for((320, 320))  # fail now if OpenCV cannot load the file

    def _net_for(self, size: tuple[int, int]):
        """A network set to ``size``: one per input size, so that whole frames and the small
        regions around known faces (always the same size) do not resize one network back and forth."""
        net = self._nets.get(size)
        if net is None:
            if len(self._nets) >= 4:  # frames of many sizes: keep the cache small
                self._nets.clear()
            try:
                net = cv2.FaceDetectorYN.create(*self._options)
            except cv2.error as error:
                raise ModelError(f"{self._options[0]}: not a YuNet ONNX model OpenCV can load ({error})") from None
            net.setInputSize(size)
            self._nets[size] = net
        return net

    def detect_near(self, region: np.ndarray, min_face_size: int, max_face_size: int) -> list[Box]:
        """Faces in the small region around a known face whose longer side is within the bounds:
        the finder measures a face by its longer side, and YuNet's boxes are taller than wide (a
        48 px face is often 38 px wide, which a bound on the shorter side would refuse)."""
        return [b for b in self.detect(region, 1) if min_face_size <= max(b.width, b.height) <= max_face_size]

    def detect(self, bgr: np.ndarray, min_face_size: int = 32, max_face_size: int = 0) -> list[Box]:
        _, faces = self._net_for((bgr.shape[1], bgr.shape[0])).detect(np.ascontiguousarray(bgr))
        boxes = []
        for face in faces if faces is not None else []:
            x, y, w, h = (int(round(v)) for v in face[:4])
            if min(w, h) >= min_face_size and (not max_face_size or max(w, h) <= max_face_size):
                boxes.append(Box(x, y, w, h, float(face[14]), tuple(float(v) for v in face[4:14])))
        return sorted(boxes, key=lambda b: b.score, reverse=True)
