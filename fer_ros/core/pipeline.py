"""The perception pipeline: detect faces, crop them, classify all in one batch, track ids."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

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

__all__ = ["EmotionPipeline", "PipelineConfig", "PreparedChange", "resolve_detector"]

# Fields whose change needs a new detector, or a new classifier (a model reload); every other field
# changes in place.
DETECTOR_FIELDS = PipelineConfig.fields_reconfiguring("detector")  # from fer_ros.core.schema
CLASSIFIER_FIELDS = PipelineConfig.fields_reconfiguring("classifier")


@dataclass(frozen=True)
class PreparedChange:
    """A validated configuration with the parts it needs rebuilt, built (see EmotionPipeline.prepare)."""

    config: PipelineConfig
    changed: set[str]
    detector: tuple | None  # (backend name, the line saying why, FaceDetector) when rebuilt
    classifier: object | None  # EmotionBackend when rebuilt
    full: bool = False


class EmotionPipeline:
    """Detector, classifier, tracker, quality gate and temporal smoothing. ``process`` takes a BGR
    image and returns a FrameResult. A face too blurred to classify (sharpness below
    ``min_sharpness``) is flagged and reported as "uncertain" instead of guessed.

    Not thread-safe: use one pipeline per thread.
    """

    def __init__(self, config: PipelineConfig | None = None):
        self.config = PipelineConfig()  # replaced below; apply() compares against it
        self.detector = self.classifier = None
        self.tracker = self.smoother = None
        self.apply(self.prepare(config or PipelineConfig(), full=True))

    def prepare(self, config: PipelineConfig, full: bool = False) -> PreparedChange:
        """Validate ``config`` and build the detector and classifier it needs that differ from the
        current ones (all when ``full``). Changes nothing in this pipeline, so it may run on another
        thread while ``process`` runs; raises ConfigError or ModelError with the reason (a model
        file that does not exist, ...), and then nothing is changed."""
        config = replace(config).validate()  # a copy: the caller's object may change later
        changed = {name for name in PipelineConfig.field_names()
                   if getattr(config, name) != getattr(self.config, name)}
        detector = classifier = None
        if full or changed & DETECTOR_FIELDS:
            name, yunet_model, choice = resolve_detector(config.detector, config.yunet_model)
            detector = (name, choice, create_detector(
                name, model_path=yunet_model, score_threshold=config.detection_threshold,
                min_neighbors=config.haar_min_neighbors, scale_factor=config.haar_scale_factor))
        if full or changed & CLASSIFIER_FIELDS:
            classifier = create_classifier(config.classifier_backend, config.model,
                                           num_threads=config.num_threads)
        return PreparedChange(config, changed, detector, classifier, full)

    def apply(self, change: PreparedChange) -> set[str]:
        """Switch to a prepared configuration (cheap: call it between frames, on the thread that
        calls ``process``). Tracking and smoothing settings change in place, keeping every face's
        id and smoothed state; only a rebuilt part starts afresh. Returns the changed field names."""
        c = change.config
        if change.detector is not None:
            self.detector_name, self.detector_choice, self.detector = change.detector
        if change.classifier is not None:
            self.classifier = change.classifier
        if change.full:
            self.tracker = IouTracker(c.track_iou_threshold, c.track_max_age)
            self.smoother = EmotionSmoother(c.smoothing_time_constant, c.hysteresis, c.uncertain_below,
                                            max_age=c.track_max_age)
        else:
            self.tracker.iou_threshold, self.tracker.max_age = c.track_iou_threshold, c.track_max_age
            self.smoother.configure(c.smoothing_time_constant, c.hysteresis, c.uncertain_below,
                                    max_age=c.track_max_age)
        self.config = c
        return change.changed

    def reconfigure(self, config: PipelineConfig) -> set[str]:
        """``apply(prepare(config))``: rebuild only what ``config`` changes."""
        return self.apply(self.prepare(config))

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
