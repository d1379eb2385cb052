"""The ROS-free parts of the ROS4HRI (REP-155) support: the mapping to hri_msgs/Expression and its rule
for uncertain and blurred faces (fer_ros.core.rep155), which faces /tracked lists (FacePresence), the
recognizer of another node's crops (fer_ros.core.crops), the emulation of hri_face_detect's crops
(fer_models.hri_crops) and their calibration, and fer_node's landmarks and crops (YuNet's landmarks at
their FacialLandmarks indices, /cropped and /aligned)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fer_ros.core.classifiers.base import EmotionBackend
from fer_ros.core.crops import SOURCES, Crop, CropRecognizer
from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS
from fer_ros.core.framing import crop_square, framing_path, load_framing
from fer_ros.core.quality import Quality
from fer_ros.core.rep155 import (EXPRESSIONS, LANDMARK_INDICES, FacePresence, aligned_face, cropped_face,
                                 expression_of, is_topic_token, normalized_landmarks, normalized_roi)
from fer_ros.core.smoothing import UNCERTAIN, EmotionSmoother, SmoothedEmotion
from fer_ros.core.types import Box, FaceEmotion, FaceSquare
from fer_models import hri_crops
from conftest import FER_CSV, need
from hri_helpers import level_of

# The values of hri_msgs/Expression's constants (hri_msgs 2.0, msg/Expression.msg), typed out here so
# that this test needs no hri_msgs; test_hri_node checks them against the real message.
EXPRESSION_CONSTANTS = {"NEUTRAL": "neutral", "ANGRY": "angry", "SAD": "sad", "HAPPY": "happy",
                        "SURPRISED": "surprised", "DISGUSTED": "disgusted", "SCARED": "scared"}


def one_hot(k: int, p: float = 0.9) -> np.ndarray:
    scores = np.full(NUM_EMOTIONS, (1 - p) / (NUM_EMOTIONS - 1), np.float32)
    scores[k] = p
    return scores


def face(label: str, scores: np.ndarray, quality: Quality | None = None) -> FaceEmotion:
    smoothed = SmoothedEmotion(scores, label, float(scores.max()))
    return FaceEmotion(Box(0, 0, 10, 10), scores, "face_1", smoothed, quality)


@pytest.mark.parametrize("k, label", list(enumerate(EMOTIONS)))
def test_each_emotion_maps_to_the_expression_constant_of_its_meaning(k, label):
    values = expression_of(face(label, one_hot(k)))
    assert values.expression in EXPRESSION_CONSTANTS.values()
    assert values.expression == {"angry": "angry", "disgust": "disgusted", "fear": "scared", "happy": "happy",
                                 "sad": "sad", "surprise": "surprised", "neutral": "neutral"}[label]
    assert values.confidence == pytest.approx(0.9)
    assert -1 <= values.valence <= 1 and -1 <= values.arousal <= 1


def test_the_seven_emotions_use_seven_distinct_constants():
    assert sorted(EXPRESSIONS) == sorted(EMOTIONS)
    assert sorted(EXPRESSIONS.values()) == sorted(EXPRESSION_CONSTANTS.values())


def test_uncertain_names_the_most_probable_emotion_with_confidence_zero():
    scores = np.array([0.1, 0.05, 0.05, 0.1, 0.35, 0.05, 0.3], np.float32)  # sad leads, below 0.4
    values = expression_of(face(UNCERTAIN, scores))
    assert (values.expression, values.confidence) == ("sad", 0.0)
    assert (values.valence, values.arousal) == pytest.approx(face(UNCERTAIN, scores).valence_arousal)


def test_a_blurred_face_is_uncertain_with_confidence_zero():
    blurred = face(UNCERTAIN, one_hot(3, 0.95), Quality(False, "blurred", 12.0))  # as the pipeline reports it
    assert (expression_of(blurred).expression, expression_of(blurred).confidence) == ("happy", 0.0)


def test_a_face_without_smoothing_uses_its_own_scores():
    raw = FaceEmotion(Box(0, 0, 10, 10), one_hot(5, 0.7), "face_1")
    assert (expression_of(raw).expression, expression_of(raw).confidence) == ("surprised", pytest.approx(0.7))


def test_normalized_roi_is_cut_to_the_image():
    assert normalized_roi(Box(64, 48, 320, 240), 640, 480) == pytest.approx((0.1, 0.1, 0.6, 0.6))
    assert normalized_roi(Box(-20, 400, 100, 200), 640, 480) == pytest.approx((0.0, 400 / 480, 80 / 640, 1.0))


@pytest.mark.parametrize("face_id, ok", [("face_12", True), ("abcde", True), ("f00001", True), ("_x", True),
                                         ("12ab", False), ("a-b", False), ("", False), ("a/b", False)])
def test_ids_must_be_topic_name_tokens(face_id, ok):
    assert is_topic_token(face_id) is ok


def test_a_face_is_present_from_its_first_result_until_it_has_been_absent_longer_than_max_age():
    presence = FacePresence(max_age=1.0)
    assert presence.update(["face_0", "face_1"], 10.0) == (["face_0", "face_1"], [])
    assert presence.update(["face_0"], 10.5) == ([], [])  # face_1 missed once: still tracked
    assert presence.ids == ["face_0", "face_1"]
    assert presence.update(["face_0", "face_1"], 10.9) == ([], [])  # back in time, same id
    assert presence.update(["face_0", "face_2"], 11.5) == (["face_2"], [])
    assert presence.update(["face_0"], 12.0) == ([], ["face_1"])  # absent 1.1 s > 1.0
    assert presence.ids == ["face_0", "face_2"]
    assert presence.update([], 13.1) == ([], ["face_0", "face_2"])
    assert len(presence) == 0


def test_a_stamp_jumping_back_ends_every_face_first():
    presence = FacePresence(max_age=1.0)
    presence.update(["face_0", "face_1"], 50.0)
    appeared, expired = presence.update(["face_0"], 5.0)  # a bag replayed in a loop
    assert (appeared, expired) == (["face_0"], ["face_0", "face_1"])
    assert presence.ids == ["face_0"]


def test_many_faces_coming_and_going_leave_nothing_behind():
    presence = FacePresence(max_age=0.5)
    opened: set[str] = set()
    for cycle in range(200):
        stamp = cycle * 2.0
        appeared, expired = presence.update([f"face_{2 * cycle}", f"face_{2 * cycle + 1}"], stamp)
        opened -= set(expired)
        opened |= set(appeared)
        appeared, expired = presence.update([], stamp + 1.0)
        opened -= set(expired)
        assert not appeared and opened == set() and len(presence) == 0


class Brightness(EmotionBackend):
    """A stand-in classifier: the emotion is the crop's mean grey level in seven bands; counts the
    rows of each call (``predict`` as two passes, as a mirror-averaged model's; ``predict_single``)."""

    name, input_size = "brightness", 48

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def _scores(self, faces: np.ndarray) -> np.ndarray:
        bands = np.clip((faces.reshape(len(faces), -1).mean(axis=1) * NUM_EMOTIONS / 256).astype(int), 0, 6)
        return np.stack([one_hot(int(b), 0.94) for b in bands]) if len(faces) else np.zeros((0, NUM_EMOTIONS))

    def predict(self, faces):
        self.calls.append(("both", len(faces)))
        return self._scores(faces)

    def predict_single(self, faces):
        self.calls.append(("single", len(faces)))
        return self._scores(faces)


def grey_crop(level: int, size: int = 128) -> np.ndarray:
    rng = np.random.default_rng(level)  # texture, so the crop is sharp: +-20 around the level
    return np.clip(level + rng.integers(-20, 21, (size, size, 3)), 0, 255).astype(np.uint8)


def recognizer(min_sharpness: float = 50.0) -> CropRecognizer:
    return CropRecognizer(Brightness(), load_framing(SOURCES["cropped"]).full, EmotionSmoother(0.5, 0.1, 0.4),
                          min_sharpness)


def test_each_crop_of_a_batch_is_classified_and_mapped_per_face():
    rec = recognizer()
    faces = rec.recognize([Crop(f"id{k}", grey_crop(level_of(k)), 1.0) for k in range(NUM_EMOTIONS)])
    assert [f.track_id for f in faces] == [f"id{k}" for k in range(NUM_EMOTIONS)]
    assert [f.emotion for f in faces] == list(EMOTIONS)
    assert [expression_of(f).expression for f in faces] == [EXPRESSIONS[e] for e in EMOTIONS]
    assert rec.classifier.calls == [("single", 14)]  # one batch; every face new: it and its mirror image
    assert all(f.box == Box(0, 0, 128, 128) and f.quality.ok for f in faces)
    expected = load_framing("hri_face_detect").full.square(Box(0, 0, 128, 128))
    assert faces[0].square == expected


def test_later_crops_take_one_view_each_the_mirror_alternating():
    rec = recognizer()
    crop = grey_crop(level_of(3))
    crop[:, :64] = 0  # left half dark: the mirror image differs
    grey_seen = []
    original = rec.classifier.predict_single
    rec.classifier.predict_single = lambda faces: (grey_seen.append(faces.copy()), original(faces))[1]
    for i in range(3):
        rec.recognize([Crop("a", crop, 1.0 + i / 30)])
    assert rec.classifier.calls == [("single", 2), ("single", 1), ("single", 1)]
    assert grey_seen[0][0, 24, 2] < grey_seen[0][0, 24, 45]  # the first crop: as it came (dark half left) ...
    assert grey_seen[0][1, 24, 2] > grey_seen[0][1, 24, 45]  # ... and mirrored
    assert grey_seen[1][0, 24, 2] < grey_seen[1][0, 24, 45]  # the second: the cycle's first view, as it came
    assert grey_seen[2][0, 24, 2] > grey_seen[2][0, 24, 45]  # the third: its second, mirrored


def test_smoothing_and_hysteresis_follow_each_face_id_apart():
    rec = recognizer()
    for i in range(10):  # a is happy throughout; b switches to sad at frame 5
        b = level_of(3) if i < 5 else level_of(4)
        faces = rec.recognize([Crop("a", grey_crop(level_of(3)), i / 30), Crop("b", grey_crop(b), i / 30)])
    assert faces[0].emotion == "happy"
    assert faces[1].emotion == "happy"  # 5 frames (0.17 s) of sad are not yet enough: hysteresis holds it
    for i in range(10, 40):
        faces = rec.recognize([Crop("b", grey_crop(level_of(4)), i / 30)])
    assert faces[0].emotion == "sad"


def test_a_blurred_crop_is_uncertain_and_forget_drops_a_face():
    rec = recognizer()
    flat = np.full((128, 128, 3), level_of(0), np.uint8)  # no texture at all: sharpness 0
    (blurred,) = rec.recognize([Crop("a", flat, 1.0)])
    assert blurred.quality.reason == "blurred" and blurred.emotion == UNCERTAIN
    assert expression_of(blurred).confidence == 0.0 and "a" not in rec
    rec.recognize([Crop("b", grey_crop(level_of(1)), 1.0)])
    assert "b" in rec
    rec.forget(["c"])
    assert "b" not in rec


# --- hri_face_detect's crops, emulated -------------------------------------------------------------

def test_a_box_is_fitted_into_the_crop_keeping_its_aspect_on_black():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:300, 200:300] = 200  # a 100 x 200 box: scaled 0.64 to 64 x 128, centred
    box = Box(200, 100, 100, 200)
    crop = hri_crops.cropped(frame, box)
    fit = hri_crops.Fit.of(box)
    assert (fit.scale, fit.left, fit.top) == (0.64, 32, 0)
    assert crop.shape == (128, 128, 3)
    assert np.all(crop[:, 33:95] == 200) and np.all(crop[:, :31] == 0) and np.all(crop[:, 97:] == 0)


def test_fit_places_a_point_where_the_crop_shows_it():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[150:154, 240:244] = 255  # a dot at (242, 152) in continuous coordinates
    box = Box(200, 100, 120, 160)
    crop = hri_crops.cropped(frame, box)
    at = hri_crops.Fit.of(box).place(FaceSquare(242.0, 152.0, 10.0))
    ys, xs = np.nonzero(crop[..., 0] > 60)
    assert abs(xs.mean() + 0.5 - at.cx) < 0.6 and abs(ys.mean() + 0.5 - at.cy) < 0.6
    assert at.side == pytest.approx(10 * 0.8)


def test_aligned_turns_the_region_by_the_eye_line_and_places_the_face_there():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[196:204, 346:354] = 255  # a dot 50 px right of the box centre (300, 200)
    # eyes at (280, 190) and (320, 170): the eye line rises 26.6 degrees to the right (face rolled CCW)
    box = Box(250, 150, 100, 100, 1.0, (280.0, 190.0, 320.0, 170.0, 300.0, 200.0, 285.0, 220.0, 315.0, 220.0))
    turn = hri_crops.Turn.of(box, 640, 480)
    assert turn.angle == pytest.approx(-26.565, abs=0.01)  # turned clockwise until the eye line is level
    moved = turn.place(FaceSquare(350.0, 200.0, 8.0, 26.565))
    assert moved.angle == pytest.approx(0.0, abs=0.01)
    crop = hri_crops.aligned(frame, box)
    at = hri_crops.Fit.of(box).place(moved)
    ys, xs = np.nonzero(crop[..., 0] > 60)
    assert abs(xs.mean() + 0.5 - at.cx) < 1.0 and abs(ys.mean() + 0.5 - at.cy) < 1.0
    assert at.cy > 64  # a clockwise turn moves a point right of the centre down


@pytest.mark.parametrize("name", list(SOURCES.values()))
def test_each_crop_source_ships_its_calibration_with_the_command_that_made_it(name):
    framing = load_framing(name)
    raw = json.loads(framing_path(name).read_text())
    assert raw["about"]["command"].startswith(f"python -m fer_models.calibrate_framing --detector {name} ")
    assert raw["about"]["found"]["full"] >= 1000
    assert framing.full == framing.near and 0.7 < framing.full.scale < 1.1
    assert abs(framing.full.dx) < 0.05 and abs(framing.full.dy) < 0.05


@pytest.fixture(scope="module")
def training_faces():
    """120 FER2013 Training faces, another draw than the calibration's (seed 7)."""
    from fer_models.data import load_split

    training = load_split(str(need(FER_CSV)), "Training")
    return training.images[np.random.default_rng(7).choice(len(training), 120, replace=False)]


@pytest.mark.parametrize("name", list(SOURCES.values()))
def test_the_calibration_of_crops_is_reproduced_on_other_faces(name, training_faces, yunet_model):
    """A quick re-run of `calibrate_framing --detector <name>` on 120 faces of another seed lands
    within the committed calibration's spread."""
    from fer_models.calibrate_framing import calibrate_crops
    from fer_models.placement import backgrounds
    from fer_ros.core.detectors import create_detector

    faces = training_faces
    result = calibrate_crops(create_detector("yunet", model_path=yunet_model), faces, backgrounds(None), 7,
                             hri_crops.SOURCES[name])
    spread = json.loads(framing_path(name).read_text())["about"]["spread"]["full"]
    assert result["found"] >= 40
    for key in ("dx", "dy", "scale"):
        assert spread["p25"][key] <= result["median"][key] <= spread["p75"][key], key


# --- fer_node's landmarks and crops ----------------------------------------------------------------

# hri_msgs/FacialLandmarks' constants for YuNet's five points (hri_msgs 2.0), typed out as above;
# test_hri_node checks them against the real message.
FACIAL_LANDMARKS = {"RIGHT_PUPIL": 68, "LEFT_PUPIL": 69, "NOSE": 30, "MOUTH_OUTER_RIGHT": 48, "MOUTH_OUTER_LEFT": 54}


def test_yunets_five_landmarks_go_to_their_facial_landmarks_indices_in_0_to_1_of_the_image():
    assert LANDMARK_INDICES == tuple(FACIAL_LANDMARKS.values())
    box = Box(100, 100, 100, 120, 0.9, (130.0, 140.0, 170.0, 141.0, 150.0, 170.0, 135.0, 200.0, 165.0, 201.0))
    points = normalized_landmarks(box, 640, 480)
    assert [index for index, _, _ in points] == [68, 69, 30, 48, 54]
    assert [v for _, x, y in points for v in (x, y)] == pytest.approx(
        [130 / 640, 140 / 480, 170 / 640, 141 / 480, 150 / 640, 170 / 480, 135 / 640, 200 / 480, 165 / 640, 201 / 480])
    # a face at the border: points past it are cut to the image, as /roi is
    edge = Box(-20, 400, 60, 90, 0.9, (-5.0, 420.0, 20.0, 419.0, 10.0, 450.0, 0.0, 470.0, 30.0, 490.0))
    assert [v for _, x, y in normalized_landmarks(edge, 640, 480) for v in (x, y)] == pytest.approx(
        [0.0, 420 / 480, 20 / 640, 419 / 480, 10 / 640, 450 / 480, 0.0, 470 / 480, 30 / 640, 1.0])
    assert normalized_landmarks(Box(100, 100, 50, 50), 640, 480) == []  # Haar: no landmarks, none published


def test_cropped_is_the_box_of_roi_fitted_on_black_as_hri_face_detect_cuts_it():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:300, 200:300] = 200  # a 100 x 200 box: scaled 0.64 to 64 x 128, centred (as hri_crops.cropped)
    box = Box(200, 100, 100, 200)
    crop = cropped_face(frame, box, 128)
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
    assert np.all(crop[:, 32:96] == 200) and np.all(crop[:, :32] == 0) and np.all(crop[:, 96:] == 0)
    assert np.array_equal(crop == 0, hri_crops.cropped(frame, box) == 0)
    small = cropped_face(frame, Box(220, 150, 20, 10), 96)  # enlarged: 96 x 48, centred
    assert np.all(small[24:72] == 200) and np.all(small[:24] == 0) and np.all(small[72:] == 0)


def test_cropped_of_a_face_at_the_border_is_the_part_in_the_image_with_no_edge_repeated():
    frame = np.full((480, 640, 3), 50, np.uint8)
    frame[:, :5] = 255  # the image's left edge: repeating it would paint the crop white
    box = Box(-100, 100, 200, 200)  # half past the left border: /roi is x 0 .. 100
    assert normalized_roi(box, 640, 480)[0] == 0.0
    crop = cropped_face(frame, box, 128)
    assert crop.shape == (128, 128, 3)
    assert np.all(crop[:, :32] == 0) and np.all(crop[:, 96:] == 0)  # the 100 x 200 in the image, on black
    assert (crop[:, 32:96] == 255).mean() < 0.1  # the 5 white columns, scaled; not repeated
    assert cropped_face(frame, Box(700, 100, 50, 50), 128) is None  # wholly outside: no crop


def test_aligned_is_the_classifiers_square_turned_upright_black_past_the_border():
    frame = np.full((480, 640, 3), 90, np.uint8)
    # a bar through (320, 240) rising 30 degrees to the right: the eye line of a face rolled 30 degrees
    # counter-clockwise as seen (FaceSquare.angle 30)
    for t in np.linspace(-60, 60, 400):
        x, y = 320 + t * np.cos(np.radians(30)), 240 - t * np.sin(np.radians(30))
        frame[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    square = FaceSquare(320.5, 240.5, 100.0, 30.0)
    crop = aligned_face(frame, square, 128)
    assert crop.shape == (128, 128, 3)
    assert np.array_equal(crop, crop_square(frame, square, 128, border=cv2.BORDER_CONSTANT))
    row = crop[..., 0].astype(float).mean(axis=1)
    assert row[60:68].max() > 200 and row[:40].max() < 100 and row[88:].max() < 100  # level: one bright row band
    upright = aligned_face(frame, FaceSquare(320.5, 240.5, 100.0, 0.0), 128)
    assert upright[..., 0].astype(float).mean(axis=1)[60:68].max() < 200  # not turned: the bar crosses rows
    # a square reaching past the left border: black there (REP-155's 0-padding), where the classifier's
    # own crop repeats the edge
    edge = FaceSquare(20.0, 240.0, 100.0, 0.0)
    crop, classifier_crop = aligned_face(frame, edge, 100), crop_square(frame, edge, 100)
    assert np.all(crop[:, :29] == 0) and np.all(crop[:, 31:] == 90)
    assert np.all(classifier_crop == 90)


def yunet_faces(yunet_model, frames):
    """The faces of a YuNet pipeline over ``frames`` (30 Hz), frame by frame."""
    from fer_ros.core.config import PipelineConfig
    from fer_ros.core.pipeline import EmotionPipeline

    pipeline = EmotionPipeline(PipelineConfig(detector="yunet", yunet_model=yunet_model, detection_thread=False))
    try:
        return [pipeline.process(frame, 100 + i / 30).faces for i, frame in enumerate(frames)]
    finally:
        pipeline.close()


def check_landmarks(face: FaceEmotion, width: int = 640, height: int = 480) -> None:
    """The REP-155 landmarks of ``face`` lie in its /roi, the eyes above the mouth corners."""
    points = {index: (x, y) for index, x, y in normalized_landmarks(face.box, width, height)}
    assert sorted(points) == sorted(LANDMARK_INDICES), face
    xmin, ymin, xmax, ymax = normalized_roi(face.box, width, height)
    assert all(xmin <= x <= xmax and ymin <= y <= ymax for x, y in points.values()), (face, points)
    assert max(points[68][1], points[69][1]) < min(points[48][1], points[54][1]), points
    assert points[68][0] < points[69][0] and points[48][0] < points[54][0]  # the face's right: the image's left


def test_yunet_faces_moving_and_coasting_have_their_landmarks_in_their_roi_eyes_above_the_mouth(yunet_model):
    from fer_ros.bench.frames import SyntheticSequence

    sequence = SyntheticSequence(6, 45)
    frames = yunet_faces(yunet_model, [sequence.frame(i) for i in range(45)])
    faces = [face for found in frames for face in found]
    assert len(faces) >= 0.9 * 6 * 45 and any(face.coasted for face in faces)
    for face in faces:  # coasting ones too: their landmarks moved with their predicted box
        check_landmarks(face)
        if not face.coasted:
            assert face.square is not None  # /aligned has a square to cut
    assert len({face.track_id for face in faces}) == 6


def test_the_two_face_photo_gives_both_faces_landmarks_and_an_aligned_crop(yunet_model, two_faces):
    (faces,) = yunet_faces(yunet_model, [two_faces])
    assert len(faces) == 2
    for face in faces:
        check_landmarks(face)
        crop = aligned_face(two_faces, face.square, 128)
        assert crop.shape == (128, 128, 3) and crop.std() > 20  # a face, not padding
