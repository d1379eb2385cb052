"""YuNet, OpenCV's CNN face detector, run in ONNX Runtime; the user supplies the ONNX model file.

OpenCV's own ``cv2.FaceDetectorYN`` reads the 2023mar model only from OpenCV 4.8 on, and a robot's
ROS takes OpenCV from its distribution (Ubuntu 24.04: 4.6.0, 22.04: 4.5.4), where it fails on the
first frame. So the network runs in ONNX Runtime, which already runs the emotion model, and its
outputs are decoded here exactly as ``FaceDetectorYN`` decodes them (OpenCV's
``modules/objdetect/src/face_detect.cpp``): the image padded to a multiple of 32 at its right and
bottom, BGR values 0-255 as they are; per stride 8, 16 and 32 a grid of anchors, each with a class
and an objectness score (the face score is the square root of their product), a box as the anchor's
offset and log size, and five landmarks; then non-maximum suppression as ``cv2.dnn.NMSBoxes`` does it.
test_detectors checks that it gives the same boxes, landmarks and scores as ``FaceDetectorYN`` where
the installed OpenCV can run the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.model_cache import FETCH_HINT
from fer_ros.core.onnx_runtime import cpu_session
from fer_ros.core.types import Box

DOWNLOAD_HINT = (f"{FETCH_HINT} to get face_detection_yunet_2023mar.onnx (OpenCV model zoo, "
                 "models/face_detection_yunet), or set yunet_model to its path")
STRIDES = (8, 16, 32)
# The outputs FaceDetectorYN reads, in its order: class, objectness, box, landmarks, per stride
OUTPUTS = tuple(f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES)


def _session(path: str):
    """An ONNX Runtime session of ``path`` on one CPU thread (the detector runs beside the node's
    other work: one core, as every figure in docs/benchmark.md), checked to be a YuNet model."""
    # errors only: ORT warns about unused initialisers in this file
    session = cpu_session(path, 1, errors_only=True, hint=DOWNLOAD_HINT)
    names = {output.name for output in session.get_outputs()}
    if missing := [name for name in OUTPUTS if name not in names]:
        raise ModelError(f"{path}: not a YuNet 2023mar model (no output {', '.join(missing)}); {DOWNLOAD_HINT}")
    return session


def nms_boxes(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, nms_threshold: float,
              top_k: int) -> list[int]:
    """The indices ``cv2.dnn.NMSBoxes`` keeps, best first: scores above ``score_threshold``, at most
    ``top_k`` (0: all) of them by score (ties in their order), each kept unless it overlaps a kept one
    by more than ``nms_threshold``. ``boxes`` are N x 4 integer x, y, w, h (OpenCV's Rect)."""
    order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] > score_threshold]
    if top_k > 0:
        order = order[:top_k]
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = (boxes[:, 2] * boxes[:, 3]).astype(np.float64)
    kept: list[int] = []
    for i in order:
        if kept:
            k = np.array(kept)
            width = np.maximum(0, np.minimum(x2[i], x2[k]) - np.maximum(x1[i], x1[k]))
            height = np.maximum(0, np.minimum(y2[i], y2[k]) - np.maximum(y1[i], y1[k]))
            inter = (width * height).astype(np.float64)
            union = area[i] + area[k] - inter
            overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
            if (overlap > nms_threshold).any():
                continue
        kept.append(i)
    return kept


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
    # A face scoring this much is sure (real faces in our photos: 0.89-0.95; dogs: 0.85 at most;
    # docs/measurements.md)
    sure_score = 0.90

    def __init__(self, model_path: str = "", score_threshold: float = 0.87, nms_threshold: float = 0.3,
                 top_k: int = 500):
        if not model_path:
            raise ConfigError(f"detector 'yunet' needs a model file: {DOWNLOAD_HINT} (parameter yunet_model)")
        if not Path(model_path).is_file():
            raise ModelError(f"YuNet model {model_path} does not exist: {DOWNLOAD_HINT}")
        self._session = _session(str(model_path))
        self._input = self._session.get_inputs()[0].name
        self._outputs = list(OUTPUTS)
        self.score_threshold, self.nms_threshold, self.top_k = score_threshold, nms_threshold, top_k

    def detect_near(self, region: np.ndarray, min_face_size: int, max_face_size: int) -> list[Box]:
        """Faces in the small region around a known face whose longer side is within the bounds:
        the finder measures a face by its longer side, and YuNet's boxes are taller than wide (a
        48 px face is often 38 px wide, which a bound on the shorter side would refuse)."""
        return [b for b in self.detect(region, 1) if min_face_size <= max(b.width, b.height) <= max_face_size]

    def detect(self, bgr: np.ndarray, min_face_size: int = 32, max_face_size: int = 0) -> list[Box]:
        boxes = []
        for face in self.faces(bgr):
            x, y, w, h = (int(round(v)) for v in face[:4])
            if min(w, h) >= min_face_size and (not max_face_size or max(w, h) <= max_face_size):
                boxes.append(Box(x, y, w, h, float(face[14]), tuple(float(v) for v in face[4:14]),
                                 sure=float(face[14]) >= self.sure_score))
        return sorted(boxes, key=lambda b: b.score, reverse=True)

    def faces(self, bgr: np.ndarray) -> np.ndarray:
        """N x 15 float32 rows as ``cv2.FaceDetectorYN.detect`` returns them: x, y, w, h of the box,
        x, y of the right eye, left eye, nose tip, right and left mouth corner, and the score."""
        height, width = bgr.shape[:2]
        pad_h, pad_w = -(-height // 32) * 32, -(-width // 32) * 32
        blob = np.zeros((1, 3, pad_h, pad_w), np.float32)
        blob[0, :, :height, :width] = bgr.transpose(2, 0, 1)
        outputs = self._session.run(self._outputs, {self._input: blob})
        rows = [self._decode(outputs, k, stride, pad_w // stride) for k, stride in enumerate(STRIDES)]
        faces = np.concatenate(rows)
        if len(faces) <= 1:  # as FaceDetectorYN: no suppression (nor its strict threshold) for one face
            return faces
        rects = np.trunc(faces[:, :4]).astype(np.int64)  # FaceDetectorYN casts to an integer Rect
        return faces[nms_boxes(rects, faces[:, 14], self.score_threshold, self.nms_threshold, self.top_k)]

    def _decode(self, outputs: list[np.ndarray], k: int, stride: int, cols: int) -> np.ndarray:
        """The faces of stride ``STRIDES[k]``'s anchor grid (``cols`` anchors a row) scoring at least the
        threshold. A product of class and objectness below the threshold's square (less a margin for
        rounding) rules an anchor out cheaply: most anchors, and all of them in most search regions."""
        cls, obj = outputs[k][0, :, 0], outputs[k + len(STRIDES)][0, :, 0]
        index = np.flatnonzero(cls * obj >= np.float32(0.999 * self.score_threshold ** 2))
        if index.size:
            score = np.sqrt(np.clip(cls[index], 0.0, 1.0) * np.clip(obj[index], 0.0, 1.0))
            keep = score >= self.score_threshold
            index, score = index[keep], score[keep]
        if not index.size:
            return np.zeros((0, 15), np.float32)
        bbox = outputs[k + 2 * len(STRIDES)][0, index]
        kps = outputs[k + 3 * len(STRIDES)][0, index]
        col = (index % cols).astype(np.float32)
        row = (index // cols).astype(np.float32)
        step = np.float32(stride)
        w, h = np.exp(bbox[:, 2]) * step, np.exp(bbox[:, 3]) * step
        cx, cy = (col + bbox[:, 0]) * step, (row + bbox[:, 1]) * step
        faces = np.empty((len(index), 15), np.float32)
        faces[:, 0], faces[:, 1] = cx - w / np.float32(2), cy - h / np.float32(2)
        faces[:, 2], faces[:, 3] = w, h
        faces[:, 4:14:2] = (kps[:, 0::2] + col[:, None]) * step
        faces[:, 5:14:2] = (kps[:, 1::2] + row[:, None]) * step
        faces[:, 14] = score
        return faces
