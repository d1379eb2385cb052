"""Settings of the perception core (``PipelineConfig``) and what ``detector: auto`` resolves to."""

from __future__ import annotations

from dataclasses import dataclass, fields

from fer_ros.core.classifier import CLASSIFIERS
from fer_ros.core.detectors import DETECTOR_CHOICES
from fer_ros.core.errors import ConfigError
from fer_ros.core.model_cache import FETCH_HINT, YUNET_FILE, cache_dir, cached_yunet


@dataclass
class PipelineConfig:
    """Settings of the core. The node's parameters of the same names map onto these fields."""

    detector: str = "auto"
    yunet_model: str = ""
    detection_threshold: float = 0.87
    detection_max_side: int = 640
    haar_min_neighbors: int = 4
    haar_scale_factor: float = 1.25
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
