"""Emotion classifier backends behind one interface, chosen by name.

``EmotionBackend`` is the interface: ``name``, ``input_size`` and ``predict(faces)``, which turns grey
crops ``(n, input_size, input_size) uint8`` into probabilities ``(n, 7)`` in EMOTIONS order.
``create_classifier(backend, model, num_threads)`` builds one from ``CLASSIFIERS``:

- ``fer``: this project's models, exported to ONNX and run in ONNX Runtime (no TensorFlow at run
  time): ``EmotionClassifier``. Every model file ``NAME.onnx`` has a sidecar ``NAME.json`` that
  makes preprocessing explicit: input size, colour, value range, label order, output kind and the
  file's SHA-256.
- ``deepface``: DeepFace's emotion CNN in Keras (``fer_ros.core.deepface_backend``), imported only
  when chosen, so nothing else loads TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ConfigError, ModelError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The models this project ships, by the name the ``model`` parameter accepts (see their model cards).
SHIPPED_MODELS = {
    "default": MODELS_DIR / "fer_default.onnx",  # the most accurate
    "fast": MODELS_DIR / "fer_fast.onnx",  # about a ninth of the default's time per face
}
DEFAULT_MODEL = SHIPPED_MODELS["default"]


def resolve_model(model: str | Path | None) -> Path:
    """The file for ``model``: empty (or ``None``) means the shipped default, a name in
    ``SHIPPED_MODELS`` that shipped model, anything else a path."""
    if not model:
        return DEFAULT_MODEL
    return SHIPPED_MODELS.get(str(model), Path(model))


@dataclass(frozen=True)
class ModelSpec:
    """What the sidecar says about a model's input and output."""

    name: str
    input_size: int  # square side in pixels
    color: str  # "gray"
    value_range: tuple[float, float]  # what 0..255 pixels are scaled to before the network
    labels: tuple[str, ...]
    output: str  # "probabilities" or "logits"
    sha256: str
    single_pass: str = ""  # a mirror-averaged model's single pass, beside it (fer_models.single_pass)

    @classmethod
    def from_file(cls, sidecar: Path) -> "ModelSpec":
        try:
            raw = json.loads(sidecar.read_text())
            spec = cls(name=raw["name"], input_size=int(raw["input_size"]), color=raw["color"],
                       value_range=tuple(raw["value_range"]), labels=tuple(raw["labels"]),
                       output=raw["output"], sha256=raw["sha256"], single_pass=raw.get("single_pass", ""))
        except FileNotFoundError:
            raise ModelError(
                f"{sidecar} is missing: every model needs its sidecar (written by python -m fer_models.export)"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{sidecar}: malformed model sidecar ({error!r}); re-export the model") from None
        if sorted(spec.labels) != sorted(EMOTIONS):
            raise ModelError(f"{sidecar}: labels {spec.labels} are not the 7 FER2013 emotions {EMOTIONS}")
        if spec.color != "gray" or spec.output not in ("probabilities", "logits"):
            raise ModelError(f"{sidecar}: unsupported color {spec.color!r} or output {spec.output!r}")
        return spec


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class EmotionBackend(ABC):
    """Classifies batches of grey face crops into the 7 FER2013 emotions."""

    name: str  # model name, published in FaceEmotionArray.model
    input_size: int  # square crop side in pixels that predict expects

    @abstractmethod
    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, 7)`` float32 in EMOTIONS order, each row summing to 1, for grey crops
        ``(n, input_size, input_size) uint8``; ``n`` may be 0."""

    @property
    def alternates_mirror(self) -> bool:
        """True when ``predict`` averages the face and its mirror image and ``predict_single`` is
        one pass: video then classifies a tracked face and its mirror image on alternate frames."""
        return False

    def predict_single(self, faces: np.ndarray) -> np.ndarray:
        """One pass per face (as ``predict`` unless the model is mirror-averaged)."""
        return self.predict(faces)


class EmotionClassifier(EmotionBackend):
    """Backend ``fer``: loads ``model_path`` (empty: the shipped default; a name in ``SHIPPED_MODELS``;
    or an exported .onnx with its sidecar) and classifies batches of grey face crops in ONNX Runtime."""

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1):
        import onnxruntime as ort

        path = resolve_model(model_path)
        if not path.is_file():
            raise ModelError(f"emotion model {path} does not exist; set the model parameter to an exported "
                             f".onnx file (python -m fer_models.export), to one of the shipped models "
                             f"{', '.join(SHIPPED_MODELS)}, or leave it empty for the default")
        self.spec = ModelSpec.from_file(path.with_suffix(".json"))
        if sha256_of(path) != self.spec.sha256:
            raise ModelError(f"{path}: checksum does not match its sidecar; the file is corrupt or was "
                             "replaced. Re-export it, or restore the shipped file (git checkout).")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"{path}: ONNX Runtime cannot load it ({error})") from None
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        expected = [self.spec.input_size, self.spec.input_size, 1]
        if list(model_input.shape[1:]) != expected:
            raise ModelError(f"{path}: input shape {model_input.shape} does not match the sidecar's "
                             f"{expected}; the model and its sidecar belong to different exports")
        # Reorder outputs to EMOTIONS order once, so every caller sees the same label order.
        self._order = [self.spec.labels.index(label) for label in EMOTIONS]
        self.name = self.spec.name
        self.input_size = self.spec.input_size
        self._single = EmotionClassifier(path.parent / self.spec.single_pass, num_threads) \
            if self.spec.single_pass else None

    @property
    def alternates_mirror(self) -> bool:
        return self._single is not None

    def predict_single(self, faces: np.ndarray) -> np.ndarray:
        return (self._single or self).predict(faces)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, 7)`` in EMOTIONS order for grey crops ``(n, size, size) uint8``."""
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        low, high = self.spec.value_range
        batch = faces.astype(np.float32)[..., None] * ((high - low) / 255.0) + low
        output = self._session.run(None, {self._input_name: batch})[0]
        probabilities = output if self.spec.output == "probabilities" else softmax(output)
        return probabilities[:, self._order].astype(np.float32)


def _deepface_classifier() -> type[EmotionBackend]:
    from fer_ros.core.deepface_backend import DeepFaceClassifier  # Keras is imported only on use

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
