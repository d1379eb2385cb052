"""Backend ``deepface``: DeepFace's emotion CNN (serengil/deepface), rebuilt here and run in Keras.

What DeepFace does, and what this module repeats (deepface/models/demography/Emotion.py,
deepface/commons/weight_utils.py and folder_utils.py, deepface/modules/detection.py):

- input: one grey 48x48 crop, pixels scaled to [0, 1] (its face extraction divides by 255);
- network: 5x5 conv (64) + 5x5/2 max pool, two 3x3 convs (64) + 3x3/2 average pool, two 3x3 convs
  (128) + 3x3/2 average pool, flatten, two dense layers of 1024 with dropout 0.2, softmax over 7;
  all convolutions unpadded with ReLU;
- labels: angry, disgust, fear, happy, sad, surprise, neutral;
- weights: ``facial_expression_model_weights.h5`` (Keras HDF5 weights) in
  ``$DEEPFACE_HOME/.deepface/weights/``, DEEPFACE_HOME defaulting to the home directory.

DeepFace downloads the weights on first use; this backend never downloads anything (robots often run
offline) and says where to put the file instead. Keras is imported when a DeepFaceClassifier is made,
never when this module is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_ros.core.classifiers.base import EmotionBackend
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ModelError

WEIGHTS_FILE = "facial_expression_model_weights.h5"
WEIGHTS_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/" + WEIGHTS_FILE
INPUT_SIZE = 48
# The network's output order. Our EMOTIONS happen to share it; the mapping below keeps that explicit.
DEEPFACE_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
TO_EMOTIONS = [DEEPFACE_LABELS.index(label) for label in EMOTIONS]


def default_weights_path() -> Path:
    """Where DeepFace keeps the file: ``$DEEPFACE_HOME/.deepface/weights/`` (DEEPFACE_HOME: home)."""
    home = os.environ.get("DEEPFACE_HOME") or str(Path.home())
    return Path(home) / ".deepface" / "weights" / WEIGHTS_FILE


def build_model(keras):
    """DeepFace's emotion architecture with fresh weights; ``keras`` is the imported module."""
    layers = keras.layers

    def conv(filters: int, kernel: int):
        return layers.Conv2D(filters, kernel, activation="relu")  # "valid" padding, as DeepFace

    return keras.Sequential([
        keras.Input((INPUT_SIZE, INPUT_SIZE, 1)),
        conv(64, 5), layers.MaxPooling2D(pool_size=5, strides=2),  # 44 -> 20
        conv(64, 3), conv(64, 3), layers.AveragePooling2D(pool_size=3, strides=2),  # 16 -> 7
        conv(128, 3), conv(128, 3), layers.AveragePooling2D(pool_size=3, strides=2),  # 3 -> 1
        layers.Flatten(),
        layers.Dense(1024, activation="relu"), layers.Dropout(0.2),
        layers.Dense(1024, activation="relu"), layers.Dropout(0.2),
        layers.Dense(len(DEEPFACE_LABELS), activation="softmax"),
    ], name="deepface_emotion")


def _import_keras(num_threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as error:
        raise ModelError(f"classifier backend 'deepface' needs Keras with TensorFlow ({error}); install "
                         "them (pip install tensorflow-cpu keras) or use classifier_backend 'fer'") from None
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except (ImportError, RuntimeError):
        pass  # another Keras backend, or TensorFlow already started: it keeps its thread pools
    return keras


class DeepFaceClassifier(EmotionBackend):
    """DeepFace's emotion model. ``model_path``: its weights file; empty for DeepFace's own location
    (:func:`default_weights_path`). Raises ModelError when the file is missing or does not fit."""

    name = "deepface_emotion"
    input_size = INPUT_SIZE

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1):
        path = Path(model_path) if model_path else default_weights_path()
        if not path.is_file():
            raise ModelError(self._missing(path, given=bool(model_path)))
        keras = _import_keras(num_threads)
        self._model = build_model(keras)
        try:
            self._model.load_weights(str(path))
        except Exception as error:  # Keras and h5py raise many types for a wrong or corrupt file
            raise ModelError(f"{path}: not DeepFace's emotion weights ({WEIGHTS_FILE}, Keras HDF5) or "
                             f"corrupt: {error}") from None
        self.weights_path = path

    @staticmethod
    def _missing(path: Path, given: bool) -> str:
        where = ("the model parameter points there" if given else
                 "model is empty, so DeepFace's folder $DEEPFACE_HOME/.deepface/weights/ is used "
                 "(DEEPFACE_HOME unset: the home directory)")
        return (f"DeepFace emotion weights {path} do not exist ({where}). They are not downloaded at run "
                f"time (the robot may be offline): put {WEIGHTS_FILE} at exactly {path}, e.g. copy it "
                f"from ~/.deepface/weights/ of a machine where DeepFace ran or download {WEIGHTS_URL} "
                "elsewhere; or set the model parameter to the file's path, or DEEPFACE_HOME to the "
                "folder that holds .deepface/weights/.")

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, 7)`` in EMOTIONS order for grey crops ``(n, 48, 48) uint8``."""
        if len(faces) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        if faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"DeepFace's emotion model takes grey {INPUT_SIZE}x{INPUT_SIZE} crops, got "
                             f"{faces.shape[1:]}")
        batch = faces.astype(np.float32)[..., None] / 255.0
        output = np.asarray(self._model.predict_on_batch(batch), np.float32)
        probabilities = output / output.sum(axis=1, keepdims=True)  # DeepFace renormalises too
        return probabilities[:, TO_EMOTIONS]
