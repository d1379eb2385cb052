"""Face detectors against dlib's hand-labelled boxes and a photo with no human face."""

import xml.etree.ElementTree as ET

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
