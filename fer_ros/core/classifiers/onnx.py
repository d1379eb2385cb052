"""Backend ``fer``: this project's models, exported to ONNX and run in ONNX Runtime (no TensorFlow at
run time). Every model file ``NAME.onnx`` has a sidecar ``NAME.json`` (``fer_ros.core.sidecar``) that
makes preprocessing explicit: input size, colour, value range, label order, output kind and the
file's SHA-256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.core.classifiers.base import EmotionBackend
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ModelError
from fer_ros.core.onnx_runtime import cpu_session, onnxruntime
from fer_ros.core.sidecar import ModelSpec, sha256_of, sidecar_path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
# The models this project ships, by the name the ``model`` parameter accepts (see their model cards).
# "default" is fernet_w32's single pass: the pipeline's first look at a face averages it and its mirror
# image itself (fer_ros.core.views.FIRST), which is what the mirror-averaged export fer_default.onnx
# (its model card's figures; kept in the checkout for evaluation and training) computes in one graph.
SHIPPED_MODELS = {
    "default": MODELS_DIR / "fer_default_single.onnx",  # the most accurate
    "fast": MODELS_DIR / "fer_fast.onnx",  # about a ninth of the default's time per face
}
MIRROR_AVERAGED_DEFAULT = MODELS_DIR / "fer_default.onnx"  # development only (not on a robot)
DEFAULT_MODEL = SHIPPED_MODELS["default"]


def resolve_model(model: str | Path | None) -> Path:
    """The file for ``model``: empty (or ``None``) means the shipped default, a name in
    ``SHIPPED_MODELS`` that shipped model, anything else a path."""
    if not model:
        return DEFAULT_MODEL
    return SHIPPED_MODELS.get(str(model), Path(model))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class EmotionClassifier(EmotionBackend):
    """Backend ``fer``: loads ``model_path`` (empty: the shipped default; a name in ``SHIPPED_MODELS``;
    or an exported .onnx with its sidecar) and classifies batches of grey face crops in ONNX Runtime."""

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1):
        onnxruntime()  # ModelError saying how to install it, before any other check
        path = resolve_model(model_path)
        if not path.is_file():
            raise ModelError(f"emotion model {path} does not exist; set the model parameter to an exported "
                             f".onnx file (python -m fer_models.export), to one of the shipped models "
                             f"{', '.join(SHIPPED_MODELS)}, or leave it empty for the default")
        self.spec = ModelSpec.from_file(sidecar_path(path))
        if sha256_of(path) != self.spec.sha256:
            raise ModelError(f"{path}: checksum does not match its sidecar; the file is corrupt or was "
                             "replaced. Re-export it, or restore the shipped file (git checkout).")
        self._session = cpu_session(path, num_threads)
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
