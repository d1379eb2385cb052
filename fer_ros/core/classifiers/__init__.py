"""Emotion classifier backends behind one interface, chosen by name.

``EmotionBackend`` (``base``) is the interface: ``name``, ``input_size`` and ``predict(faces)``,
which turns grey crops ``(n, input_size, input_size) uint8`` into probabilities ``(n, 7)`` in
EMOTIONS order. ``create_classifier(backend, model, num_threads)`` builds one from ``CLASSIFIERS``:

- ``fer``: this project's models, exported to ONNX and run in ONNX Runtime (no TensorFlow at run
  time): ``EmotionClassifier`` (``onnx``). Every model file ``NAME.onnx`` has a sidecar ``NAME.json``
  that makes preprocessing explicit (``fer_ros.core.sidecar``).
- ``deepface``: DeepFace's emotion CNN in Keras (``deepface``), imported only when chosen, so
  nothing else loads TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fer_ros.core.classifiers.base import EmotionBackend
from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.errors import ConfigError


def _deepface_classifier() -> type[EmotionBackend]:
    from fer_ros.core.classifiers.deepface import DeepFaceClassifier  # Keras is imported only on use

    return DeepFaceClassifier


# Backend name -> the class, returned by a function so that a backend's module (and its framework)
# is imported only when that backend is chosen. Every class takes (model_path, num_threads).
CLASSIFIERS: dict[str, Callable[[], type[EmotionBackend]]] = {
    "fer": lambda: EmotionClassifier,
    "deepface": _deepface_classifier,
}


def create_classifier(backend: str = "fer", model: str | Path | None = "",
                      num_threads: int = 1) -> EmotionBackend:
    """Build the emotion classifier ``backend`` ("fer" or "deepface"). ``model`` is its model file;
    empty for the backend's default (fer: the shipped model; deepface: DeepFace's weights folder)."""
    if backend not in CLASSIFIERS:
        raise ConfigError(f"unknown classifier backend {backend!r}; choose one of: {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[backend]()(model or None, num_threads=num_threads)


__all__ = ["CLASSIFIERS", "EmotionBackend", "EmotionClassifier", "create_classifier"]
