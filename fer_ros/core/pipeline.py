"""The perception pipeline: detect faces, crop them, classify all in one batch, track ids."""

from __future__ import annotations

import time

import cv2
import numpy as np

from fer_ros.core.classifier import create_classifier
from fer_ros.core.config import PipelineConfig, resolve_detector
from fer_ros.core.detectors import create_detector
from fer_ros.core.preprocess import crop_faces
from fer_ros.core.quality import assess
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother, SmoothedEmotion
from fer_ros.core.tracker import IouTracker
from fer_ros.core.types import Box, FaceEmotion, FrameResult

__all__ = ["EmotionPipeline", "PipelineConfig", "resolve_detector"]


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
