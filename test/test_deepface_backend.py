"""Classifier backends: the registry, and DeepFace's emotion model on an architecture-identical weights
file with random weights (DeepFace's real weights are never downloaded in tests)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fer_ros.bench.deepface_weights import write_random_weights
from fer_ros.core.classifiers import CLASSIFIERS, EmotionBackend, EmotionClassifier, create_classifier
from fer_ros.core.classifiers.deepface import DEEPFACE_LABELS, TO_EMOTIONS, WEIGHTS_FILE, DeepFaceClassifier
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

# Weight shapes of DeepFace's emotion CNN, layer by layer, as its source builds it (Keras order:
# kernel, bias): 1,485,831 parameters.
DEEPFACE_SHAPES = [(5, 5, 1, 64), (64,), (3, 3, 64, 64), (64,), (3, 3, 64, 64), (64,),
                   (3, 3, 64, 128), (128,), (3, 3, 128, 128), (128,),
                   (128, 1024), (1024,), (1024, 1024), (1024,), (1024, 7), (7,)]


@pytest.fixture(scope="module")
def deepface_home(tmp_path_factory):
    """A DEEPFACE_HOME holding .deepface/weights/facial_expression_model_weights.h5 with random
    weights, and the Keras model that wrote it."""
    pytest.importorskip("keras")
    home = tmp_path_factory.mktemp("deepface_home")
    model = write_random_weights(home / ".deepface" / "weights" / WEIGHTS_FILE, seed=0)
    return home, model


@pytest.fixture
def faces():
    return np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)


def test_architecture_matches_deepface(deepface_home):
    _, model = deepface_home
    assert [tuple(w.shape) for w in model.weights] == DEEPFACE_SHAPES
    assert model.count_params() == 1_485_831
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)


def test_loads_weights_from_deepface_home_and_matches_keras(deepface_home, faces, monkeypatch):
    home, model = deepface_home
    monkeypatch.setenv("DEEPFACE_HOME", str(home))
    classifier = create_classifier("deepface", "", num_threads=1)
    assert isinstance(classifier, DeepFaceClassifier) and isinstance(classifier, EmotionBackend)
    assert classifier.weights_path == home / ".deepface" / "weights" / WEIGHTS_FILE
    assert (classifier.name, classifier.input_size) == ("deepface_emotion", 48)

    probabilities = classifier.predict(faces)
    assert probabilities.shape == (5, 7) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # DeepFace's own preprocessing (grey / 255) through the model that wrote the file, reordered.
    direct = model.predict_on_batch(faces[..., None].astype(np.float32) / 255.0)
    order = [DEEPFACE_LABELS.index(label) for label in EMOTIONS]
    np.testing.assert_allclose(probabilities, direct[:, order], rtol=1e-4, atol=1e-6)
    assert classifier.predict(faces[:0]).shape == (0, 7)


def test_label_mapping_covers_our_emotions():
    assert sorted(DEEPFACE_LABELS) == sorted(EMOTIONS)
    assert [DEEPFACE_LABELS[i] for i in TO_EMOTIONS] == list(EMOTIONS)


def test_model_parameter_overrides_deepface_home(deepface_home, faces, monkeypatch, tmp_path):
    home, _ = deepface_home
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))  # holds no weights
    classifier = DeepFaceClassifier(home / ".deepface" / "weights" / WEIGHTS_FILE)
    assert classifier.predict(faces).shape == (5, 7)


def test_missing_weights_name_the_expected_path(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path))
    expected = tmp_path / ".deepface" / "weights" / WEIGHTS_FILE
    with pytest.raises(ModelError, match="not downloaded") as error:
        create_classifier("deepface", "")
    assert str(expected) in str(error.value)
    with pytest.raises(ModelError) as error:
        DeepFaceClassifier(tmp_path / "elsewhere.h5")
    assert str(tmp_path / "elsewhere.h5") in str(error.value)


def test_wrong_weights_file_is_a_model_error(tmp_path):
    wrong = tmp_path / WEIGHTS_FILE
    wrong.write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="not DeepFace's emotion weights"):
        DeepFaceClassifier(wrong)


def test_pipeline_runs_with_the_deepface_backend(deepface_home, monkeypatch):
    home, _ = deepface_home
    monkeypatch.setenv("DEEPFACE_HOME", str(home))
    pipeline = EmotionPipeline(PipelineConfig(classifier_backend="deepface", confirm_frames=1))
    assert pipeline.classifier.name == "deepface_emotion"
    # A synthetic frame: the astronaut photo (one face; ships with scikit-image) pasted on grey.
    import cv2
    skimage = pytest.importorskip("skimage.data")
    image = np.full((600, 800, 3), 90, np.uint8)
    image[44:556, 144:656] = cv2.cvtColor(skimage.astronaut(), cv2.COLOR_RGB2BGR)
    result = pipeline.process(image, stamp=0.0)
    assert (result.image_width, result.image_height) == (800, 600)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.scores.shape == (7,) and np.isclose(face.scores.sum(), 1.0, atol=1e-5)
    assert np.isclose(face.smoothed.scores.sum(), 1.0, atol=1e-5)


def test_registry_and_unknown_backend():
    assert set(CLASSIFIERS) == {"fer", "deepface"}
    assert isinstance(create_classifier("fer", ""), EmotionClassifier)
    with pytest.raises(ConfigError, match="classifier_backend"):
        PipelineConfig(classifier_backend="mtcnn").validate()
    with pytest.raises(ConfigError, match="unknown classifier backend"):
        create_classifier("mtcnn", "")


def test_core_pipeline_does_not_import_tensorflow():
    code = "import fer_ros.core.pipeline, sys; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_node_parameter_accepts_the_backends():
    from rclpy.parameter import Parameter

    from fer_ros.node import params

    param = next(p for p in params.PARAMETERS if p.name == "classifier_backend")
    assert param.default == "fer" and param.choices == ("fer", "deepface")  # not read from the registry
    current = {p.name: p.default for p in params.PARAMETERS}
    assert params.validate_change(current, [Parameter("classifier_backend", value="deepface")]).successful
    refused = params.validate_change(current, [Parameter("classifier_backend", value="mtcnn")])
    assert not refused.successful and "classifier_backend" in refused.reason
