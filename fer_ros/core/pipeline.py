"""The perception pipeline: detect faces, crop them, classify all in one batch, track ids."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import cv2
import numpy as np

from fer_ros.core.classifier import CLASSIFIERS, create_classifier
from fer_ros.core.detectors import DETECTOR_CHOICES, create_detector
from fer_ros.core.errors import ConfigError
from fer_ros.core.model_cache import FETCH_HINT, YUNET_FILE, cache_dir, cached_yunet
from fer_ros.core.preprocess import crop_faces
from fer_ros.core.quality import assess
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother, SmoothedEmotion
from fer_ros.core.tracker import IouTracker
from fer_ros.core.types import Box, FaceEmotion, FrameResult


@dataclass
class PipelineConfig:
    """Settings of the core. The node's parameters of the same names map onto these fields."""

    detector: str = "auto"
    yunet_model: str = ""
    detection_threshold: float = 0.87
    detection_max_side: int = 640
    haar_min_neighbors: int = 5
    haar_scale_factor: float = 1.1
    detection_interval: float = 0.5
    scene_change_threshold: float = 20.0
    confirm_frames: int = 2
    min_face_size: int = 32
    max_faces: int = 10
    face_margin: float = 0.1
    classifier_backend: str = "fer"
    model: str = ""
    num_threads: int = 1
    track_iou_threshold: float = 0.3
    track_max_age: float = 1.0
    smoothing_time_constant: float = 0.5
    hysteresis: float = 0.1
    uncertain_below: float = 0.4
    min_sharpness: float = 50.0

    def validate(self) -> "PipelineConfig":
        checks = [
            (self.detector in DETECTOR_CHOICES,
             f"detector must be one of {list(DETECTOR_CHOICES)}, got {self.detector!r}"),
            (0.0 <= self.detection_threshold <= 1.0, "detection_threshold must lie in [0, 1]"),
            (1 <= self.haar_min_neighbors <= 50, "haar_min_neighbors must lie in [1, 50]"),
            (1.01 <= self.haar_scale_factor <= 2.0, "haar_scale_factor must lie in [1.01, 2]"),
            (0.0 <= self.detection_interval <= 10.0, "detection_interval must lie in [0, 10] seconds"),
            (0.0 <= self.scene_change_threshold <= 255.0, "scene_change_threshold must lie in [0, 255]"),
            (1 <= self.confirm_frames <= 30, "confirm_frames must lie in [1, 30]"),
            (self.detection_max_side == 0 or 64 <= self.detection_max_side <= 8192,
             "detection_max_side must be 0 (off) or lie in [64, 8192] pixels"),
            (8 <= self.min_face_size <= 4096, "min_face_size must lie in [8, 4096] pixels"),
            (1 <= self.max_faces <= 100, "max_faces must lie in [1, 100]"),
            (0.0 <= self.face_margin <= 1.0, "face_margin must lie in [0, 1]"),
            (self.classifier_backend in CLASSIFIERS,
             f"classifier_backend must be one of {list(CLASSIFIERS)}, got {self.classifier_backend!r}"),
            (1 <= self.num_threads <= 64, "num_threads must lie in [1, 64]"),
            (0.0 < self.track_iou_threshold <= 1.0, "track_iou_threshold must lie in (0, 1]"),
            (0.0 <= self.track_max_age <= 60.0, "track_max_age must lie in [0, 60] seconds"),
            (0.0 <= self.smoothing_time_constant <= 10.0, "smoothing_time_constant must lie in [0, 10] seconds"),
            (0.0 <= self.hysteresis < 1.0, "hysteresis must lie in [0, 1)"),
            (0.0 <= self.uncertain_below <= 1.0, "uncertain_below must lie in [0, 1]"),
            (0.0 <= self.min_sharpness <= 10000.0, "min_sharpness must lie in [0, 10000]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def resolve_detector(detector: str, yunet_model: str) -> tuple[str, str, str]:
    """The backend and YuNet file that ``detector`` means, and one line saying which and why.
    ``auto``: YuNet when ``yunet_model`` names a file or the verified cached copy exists
    (fer_ros.core.model_cache), Haar otherwise."""
    if detector != "auto":
        return detector, yunet_model, f"detector {detector} (set by the detector parameter)"
    if yunet_model:
        return "yunet", yunet_model, f"detector auto: yunet ({yunet_model}, from yunet_model)"
    cached = cached_yunet()
    if cached is not None:
        return "yunet", str(cached), f"detector auto: yunet (verified {cached})"
    return "haar", "", (f"detector auto: haar (no verified {YUNET_FILE} in {cache_dir()}; for the faster, "
                        f"more accurate YuNet {FETCH_HINT})")


class EmotionPipeline:
    """Detector, classifier, tracker, quality gate and temporal smoothing. ``process`` takes a BGR
    image and returns a FrameResult. A face too blurred to classify (sharpness below
    ``min_sharpness``) is flagged and reported as "uncertain" instead of guessed.

    Not thread-safe: use one pipeline per thread.
    """

    def __init__(self, config: PipelineConfig | None = None):
        self.config = (config or PipelineConfig()).validate()
        c = self.config
        self.detector_name, yunet_model, self.detector_choice = resolve_detector(c.detector, c.yunet_model)
        self.detector = create_detector(
            self.detector_name, model_path=yunet_model, score_threshold=c.detection_threshold,
            min_neighbors=c.haar_min_neighbors, scale_factor=c.haar_scale_factor)
        self.classifier = create_classifier(c.classifier_backend, c.model, num_threads=c.num_threads)
        self.tracker = IouTracker(c.track_iou_threshold, c.track_max_age)
        self.smoother = EmotionSmoother(c.smoothing_time_constant, c.hysteresis, c.uncertain_below,
                                        max_age=c.track_max_age)

    def process(self, bgr: np.ndarray, stamp: float | None = None) -> FrameResult:
        """Find and classify every face in ``bgr``; ``stamp`` (seconds) drives track expiry."""
        started = time.perf_counter()
        boxes = self.detect(bgr)
        detected = time.perf_counter()
        crops = crop_faces(bgr, boxes, self.classifier.input_size, self.config.face_margin)
        scores = self.classifier.predict(crops)
        classified = time.perf_counter()
        stamp = started if stamp is None else stamp
        ids = self.tracker.update(boxes, stamp)
        faces = []
        for box, crop, raw, track_id in zip(boxes, crops, scores, ids):
            quality = assess(crop, box, self.config.min_face_size, self.config.min_sharpness)
            if quality.ok:
                smoothed = self.smoother.update(track_id, raw, stamp)
            else:  # flag it, do not guess
                smoothed = SmoothedEmotion(raw, UNCERTAIN, float(raw.max()))
            faces.append(FaceEmotion(box, raw, track_id, smoothed, quality))
        return FrameResult(faces, bgr.shape[1], bgr.shape[0],
                           {"detection": detected - started, "classification": classified - detected})

    def detect(self, bgr: np.ndarray) -> list[Box]:
        """Faces in ``bgr`` (at most ``max_faces``, best first), detected on a copy whose longest side
        is at most ``detection_max_side``; boxes are in pixels of ``bgr``."""
        longest = max(bgr.shape[:2])
        limit = self.config.detection_max_side
        scale = limit / longest if limit and longest > limit else 1.0
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))  # thin frames keep 1 px
        small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        min_size = max(8, int(round(self.config.min_face_size * scale)))
        boxes = self.detector.detect(small, min_size)[: self.config.max_faces]
        if scale == 1.0:
            return boxes
        return [Box(int(round(b.x / scale)), int(round(b.y / scale)), int(round(b.width / scale)),
                    int(round(b.height / scale)), b.score) for b in boxes]
