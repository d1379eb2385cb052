"""Face detector backends behind one interface, chosen by name."""

from __future__ import annotations

import inspect

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.detectors.haar import HaarDetector
from fer_ros.core.detectors.yunet import YuNetDetector
from fer_ros.core.errors import ConfigError

DETECTORS: dict[str, type[FaceDetector]] = {
    HaarDetector.name: HaarDetector,
    YuNetDetector.name: YuNetDetector,
}
# What the detector parameter accepts: a backend, or "auto" (YuNet when its verified model file is
# found, else Haar; see fer_ros.core.pipeline.resolve_detector).
DETECTOR_CHOICES = ("auto", *DETECTORS)


def create_detector(name: str, **options) -> FaceDetector:
    """Build the detector called ``name`` ("haar" or "yunet") with its own options (ConfigError for
    an option it does not have: nothing is silently ignored)."""
    if name not in DETECTORS:
        raise ConfigError(f"unknown face detector {name!r}; choose one of: {', '.join(DETECTORS)}")
    backend = DETECTORS[name]
    unknown = sorted(set(options) - set(inspect.signature(backend.__init__).parameters) - {"self"})
    if unknown:
        raise ConfigError(f"face detector {name!r} has no option {', '.join(unknown)}")
    return backend(**options)


def detector_options(name: str, config, yunet_model: str = "") -> dict:
    """The options of detector ``name`` that the pipeline's ``config`` (PipelineConfig) sets."""
    if name == HaarDetector.name:
        return {"min_neighbors": config.haar_min_neighbors, "scale_factor": config.haar_scale_factor}
    if name == YuNetDetector.name:
        return {"model_path": yunet_model, "score_threshold": config.detection_threshold}
    return {}


__all__ = ["DETECTORS", "DETECTOR_CHOICES", "FaceDetector", "create_detector", "detector_options"]
