"""Face detector backends behind one interface, chosen by name."""

from __future__ import annotations

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
    """Build the detector called ``name`` ("haar" or "yunet") with backend options."""
    if name not in DETECTORS:
        raise ConfigError(f"unknown face detector {name!r}; choose one of: {', '.join(DETECTORS)}")
    return DETECTORS[name](**options)


__all__ = ["DETECTORS", "DETECTOR_CHOICES", "FaceDetector", "create_detector"]
