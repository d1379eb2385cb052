"""Face detectors against dlib's hand-labelled boxes and a photo with no human face."""

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_ros.core.detectors import create_detector
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig
from fer_ros.core.types import Box


def labelled_boxes(scenes):
    """{photo path: [Box]} for the dlib photos present in scenes/."""
    tree = ET.parse(scenes / "dlib_faces_training.xml")
    labelled = {}
    for image in tree.iter("image"):
        path = scenes / f"dlib_{image.get('file')}"
        if path.exists():
            labelled[path] = [Box(int(b.get("left")), int(b.get("top")), int(b.get("width")),
                                  int(b.get("height"))) for b in image.iter("box")]
    return labelled


def square(box: Box) -> Box:
    """dlib labels square boxes; YuNet's are narrower (cheek to cheek): compare the centred square
    around each box."""
    side = max(box.width, box.height)
    return Box(box.x + (box.width - side) // 2, box.y + (box.height - side) // 2, side, side)


@pytest.mark.parametrize("backend", ["haar", "yunet"])
def test_found_faces_match_hand_labels(scenes, backend, yunet_model):
    """Each backend at its finest setting on the photos as they are (500x375, faces from 37 px);
    Haar's default scaleFactor 1.15 is checked at 640x480 below."""
    pipeline = EmotionPipeline(PipelineConfig(detector=backend, yunet_model=yunet_model, min_face_size=24,
                                              haar_scale_factor=1.1, haar_min_neighbors=5))
    labelled = labelled_boxes(scenes)
    assert labelled, "no labelled dlib photo found"
    matched = total = 0
    for path, truth in labelled.items():
        found = pipeline.detect(cv2.imread(str(path)))
        for box in found:  # precision: every detection is a labelled face
            assert max(square(box).iou(t) for t in truth) >= 0.5, f"{path.name}: {box} matches no label"
        matched += sum(any(square(b).iou(t) >= 0.5 for b in found) for t in truth)
        total += len(truth)
    assert matched / total >= 0.5, f"{backend} found {matched} of {total} labelled faces"


def test_both_faces_of_the_two_person_photo(scenes, yunet_model):
    truth = labelled_boxes(scenes)[scenes / "dlib_2008_001009.jpg"]
    for backend in ("haar", "yunet"):
        found = EmotionPipeline(PipelineConfig(detector=backend, yunet_model=yunet_model)).detect(
            cv2.imread(str(scenes / "dlib_2008_001009.jpg")))
        assert len(found) == 2
        assert all(max(square(b).iou(t) for b in found) >= 0.5 for t in truth)


def test_yunet_sees_no_face_among_dogs(scenes, yunet_model):
    pipeline = EmotionPipeline(PipelineConfig(detector="yunet", yunet_model=yunet_model))
    assert pipeline.detect(cv2.imread(str(scenes / "dlib_dogs.jpg"))) == []


def test_max_faces_keeps_the_best(scenes, yunet_model):
    pipeline = EmotionPipeline(PipelineConfig(detector="yunet", yunet_model=yunet_model, max_faces=3))
    assert len(pipeline.detect(cv2.imread(str(scenes / "dlib_bald_guys.jpg")))) == 3


def test_unknown_backend_and_missing_yunet_model_say_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="haar, yunet"):
        create_detector("mtcnn")
    with pytest.raises(ConfigError, match="yunet_model"):
        create_detector("yunet")
    with pytest.raises(ModelError, match="does not exist"):
        create_detector("yunet", model_path=str(tmp_path / "missing.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.onnx"):
        create_detector("yunet", model_path=str(bad))


def test_default_detection_finds_at_least_the_previous_default_and_no_false_face(scenes):
    """What the bench measures, on 640x480 frames: the defaults (Haar, scaleFactor 1.15,
    minNeighbors 4) find at least as many hand-labelled faces as the previous default (1.1, 5) and
    no face on the photos without a person (the dogs, the cat)."""
    from fer_ros.bench.frames import face_matches, labelled_scenes, no_face_photos

    def boxes(pipeline, frame):
        return [(b.x, b.y, b.width, b.height) for b in pipeline.detect(frame)]

    labelled = labelled_scenes(scenes)
    assert sum(len(truth) for _, _, truth in labelled) == 9
    default = EmotionPipeline(PipelineConfig())
    previous = EmotionPipeline(PipelineConfig(detector="haar", haar_scale_factor=1.1, haar_min_neighbors=5))
    found = sum(face_matches(boxes(default, frame), truth) for _, frame, truth in labelled)
    before = sum(face_matches(boxes(previous, frame), truth) for _, frame, truth in labelled)
    assert found >= before >= 5, (found, before)
    assert all(boxes(default, frame) == [] for _, frame in no_face_photos(scenes))


def test_haar_finds_a_known_face_again_near_its_last_box(scenes):
    """The per-frame search around a tracked face (fer_ros.core.finder): from 45 last boxes around
    each face of the scene photos (shifted by a tenth of its size, 0.85-1.15 times as large) it finds
    the face again at least 98% of the time (measured 98.2%, python -m fer_ros.bench.roi_search), and
    never searches coarser than ROI_SCALE_FACTOR however coarse the full frame's steps."""
    from fer_ros.bench.frames import scene_photos
    from fer_ros.bench.roi_search import search_rate
    from fer_ros.core.detectors.haar import HaarDetector
    from fer_ros.core.finder import FaceFinder

    from fer_ros.core.detectors.haar import ROI_SCALE_FACTOR

    calls = []
    coarse = HaarDetector(scale_factor=1.3)
    coarse._detect = lambda bgr, factor, low, high: calls.append(factor) or []
    FaceFinder(coarse).search(np.zeros((480, 640, 3), np.uint8), Box(100, 100, 80, 80, 1.0))
    assert calls == [ROI_SCALE_FACTOR]
    finder = FaceFinder(HaarDetector())
    faces = [(frame, box) for _, frame in scene_photos(scenes) for box in finder.detect(frame)]
    assert len(faces) >= 20
    rate, _ = search_rate(finder, faces)
    assert rate >= 0.98, rate


@pytest.mark.parametrize("backend", ["haar", "yunet"])
def test_six_moving_real_faces_are_tracked_by_searches_with_either_detector(backend, yunet_model):
    """The bench's 6-face sequence (real face crops moving at 30 fps): after confirmation every frame
    reports all six with six ids, found between full detections by the search near each face. With
    YuNet this failed when the search bounded the shorter side of its boxes, which are taller than
    wide (2.7 faces a frame, 9 ids)."""
    pytest.importorskip("skimage.data")
    from fer_ros.bench.frames import SyntheticSequence

    sequence = SyntheticSequence(6, 60)
    p = EmotionPipeline(PipelineConfig(detector=backend, yunet_model=yunet_model, detection_thread=False))
    reported = [p.process(sequence.frame(i), 100 + i / 30).faces for i in range(60)]
    assert all(len(faces) == 6 for faces in reported[1:]), [len(faces) for faces in reported]
    assert len({face.track_id for faces in reported for face in faces}) == 6
    assert p.finder.full_detections == 2 and p.finder.searches == 58  # frames 0 and 30 (every 1 s)


def test_yunet_in_onnx_runtime_gives_what_opencvs_face_detector_gives(scenes, yunet_model):
    """The same rows (box, five landmarks, score, in the same order) as cv2.FaceDetectorYN on every
    scene photo at three sizes and a low threshold (many boxes, suppression at work), where the
    installed OpenCV runs the model (4.8 on; a robot's 4.6.0 cannot, which is why we decode it)."""
    from fer_ros.core.detectors.yunet import YuNetDetector

    if tuple(int(v) for v in cv2.__version__.split(".")[:2]) < (4, 8):
        pytest.skip(f"OpenCV {cv2.__version__} cannot run the YuNet 2023mar model to compare with")
    ours = YuNetDetector(yunet_model, score_threshold=0.5)
    compared = 0
    for path in sorted(scenes.glob("*.jpg")):
        for scale in (0.37, 1.0, 1.3):
            image = cv2.resize(cv2.imread(str(path)), None, fx=scale, fy=scale)
            size = (image.shape[1], image.shape[0])
            _, reference = cv2.FaceDetectorYN.create(yunet_model, "", size, 0.5, 0.3, 500).detect(image)
            reference = np.zeros((0, 15), np.float32) if reference is None else reference
            found = ours.faces(image)
            assert found.shape == reference.shape, (path.name, scale)
            np.testing.assert_allclose(found, reference, atol=0.01, err_msg=f"{path.name} at {scale}")
            compared += len(found)
    assert compared >= 100, compared


def test_yunet_suppression_is_opencvs():
    """nms_boxes keeps what cv2.dnn.NMSBoxes keeps, in its order (scores tied, overlapping, below the
    threshold, top_k)."""
    from fer_ros.core.detectors.yunet import nms_boxes

    rng = np.random.default_rng(3)
    for trial in range(50):
        n = int(rng.integers(1, 40))
        xy = rng.integers(0, 200, (n, 2))
        boxes = np.concatenate([xy, rng.integers(1, 80, (n, 2))], axis=1)
        scores = np.round(rng.random(n), 1).astype(np.float32)  # many ties
        top_k = int(rng.choice([0, 5, 500]))
        expected = cv2.dnn.NMSBoxes([list(map(int, b)) for b in boxes], scores.tolist(), 0.5, 0.3, top_k=top_k)
        assert nms_boxes(boxes, scores, 0.5, 0.3, top_k) == list(np.array(expected).reshape(-1)), trial


def test_haar_cascade_is_found_where_a_distribution_puts_it(tmp_path, monkeypatch):
    """Without cv2.data (a distribution's OpenCV), the cascade comes from the system folders; with
    none anywhere, the error names the folders and the package that brings it (opencv-data)."""
    from fer_ros.core.detectors import haar

    source = haar.default_cascade_path()
    system = tmp_path / "usr" / "share" / "opencv4" / "haarcascades"
    system.mkdir(parents=True)
    (system / haar.CASCADE_FILE).write_bytes(source.read_bytes())
    monkeypatch.delattr(cv2, "data", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.setattr(haar, "SYSTEM_CASCADE_DIRS", (str(tmp_path / "none"), str(system)))
    assert haar.default_cascade_path() == system / haar.CASCADE_FILE
    assert haar.HaarDetector().detect(np.zeros((120, 160, 3), np.uint8)) == []
    monkeypatch.setattr(haar, "SYSTEM_CASCADE_DIRS", (str(tmp_path / "none"),))
    with pytest.raises(ModelError, match="apt install opencv-data") as error:
        haar.HaarDetector()
    assert str(tmp_path / "none") in str(error.value) and "Traceback" not in str(error.value)


def test_unreadable_cascade_and_yunet_files_say_how_to_fix(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage><nothing/></opencv_storage>")
    with pytest.raises(ModelError, match="opencv-data"):
        create_detector("haar", cascade_path=str(bad))
    not_yunet = tmp_path / "other.onnx"
    from fer_ros.core.classifiers import onnx  # a real ONNX model, but not YuNet: the shipped fast one

    not_yunet.write_bytes((Path(onnx.__file__).parents[2] / "models" / "fer_fast.onnx").read_bytes())
    with pytest.raises(ModelError, match="not a YuNet 2023mar model.*fetch_models"):
        create_detector("yunet", model_path=str(not_yunet))


def test_a_missing_onnx_runtime_says_how_to_install_it(monkeypatch, yunet_model):
    """Both users of ONNX Runtime (YuNet, the emotion model) stop with the rosdep key, not a traceback."""
    import builtins

    from fer_ros.core.classifiers.onnx import EmotionClassifier

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ModuleNotFoundError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(ModelError, match="python3-onnxruntime-pip"):
        create_detector("yunet", model_path=yunet_model)
    with pytest.raises(ModelError, match="python3-onnxruntime-pip"):
        EmotionClassifier()


def test_a_misspelt_or_foreign_detector_option_is_refused_not_ignored(yunet_model):
    with pytest.raises(ConfigError, match="no option model_path"):
        create_detector("haar", model_path=yunet_model)
    with pytest.raises(ConfigError, match="no option score_treshold"):
        create_detector("yunet", model_path=yunet_model, score_treshold=0.5)


def test_a_sure_face_is_published_on_its_first_frame_and_an_unsure_one_waits(scenes):
    """confirm_sure_at_once: on a new scene the faces Haar is sure of (10 or more raw detections) are
    published at once, the others on their second frame; off, every face waits (confirm_frames 2)."""
    from fer_ros.bench.frames import scene_photos

    photos = dict(scene_photos(scenes))
    biden = photos["facerec_biden.jpg"]  # his face: 6 raw detections, a sure face it is not
    couple = photos["deepface_couple.jpg"]  # 40 and 24: both sure
    for photo, at_once in ((couple, 2), (biden, 0)):
        pipeline = EmotionPipeline(PipelineConfig(detection_thread=False))
        first, second = (len(pipeline.process(photo, 100 + i / 30).faces) for i in range(2))
        boxes = pipeline.detect(photo)
        assert first == at_once == sum(b.sure for b in boxes) and second == len(boxes) >= 1
    waiting = EmotionPipeline(PipelineConfig(detection_thread=False, confirm_sure_at_once=False))
    assert waiting.process(couple, 100).faces == [] and len(waiting.process(couple, 100 + 1 / 30).faces) == 2
