"""One crop geometry for every detector (fer_ros.core.framing): square, padded at borders, rotated
upright, calibrated per detector, the same for a tracked and a fully detected face."""

import json
import math

import cv2
import numpy as np
import pytest

from fer_ros.core.errors import ModelError
from fer_ros.core.framing import (BoxFraming, crop_square, crop_squares, eye_line_angle, framing_path,
                                  load_framing)
from fer_ros.core.types import Box, FaceSquare


def gradient(width: int = 200, height: int = 160) -> np.ndarray:
    """A grey image whose value tells where a pixel came from: x in the low values, y in steps of 40."""
    x = np.arange(width) % 40
    y = (np.arange(height) // 40) * 50
    return (y[:, None] + x[None, :]).astype(np.uint8)


def test_an_upright_square_inside_the_image_is_cut_out_exactly():
    image = gradient()
    crop = crop_square(image, FaceSquare(70.0, 60.0, 48.0), 48)
    np.testing.assert_array_equal(crop, image[36:84, 46:94])


def test_a_large_square_is_area_averaged_not_sampled():
    image = np.zeros((200, 200), np.uint8)
    image[::2, ::2] = 255  # a fine checkerboard: sampling would alias it, averaging gives its mean
    crop = crop_square(image, FaceSquare(100.0, 100.0, 96.0), 48)
    assert np.abs(crop.astype(int) - 64).max() <= 1


def test_a_square_past_the_border_is_padded_with_the_edge_never_stretched():
    image = gradient()
    crop = crop_square(image, FaceSquare(10.0, 60.0, 48.0), 48)  # 14 columns lie left of the image
    assert crop.shape == (48, 48)
    np.testing.assert_array_equal(crop[:, 14:], image[36:84, 0:34])  # the rest, unscaled
    np.testing.assert_array_equal(crop[:, :14], np.repeat(image[36:84, :1], 14, axis=1))  # the edge repeated
    outside = crop_square(image, FaceSquare(-500.0, -500.0, 40.0), 48)  # nowhere near: the corner pixel
    assert np.all(outside == image[0, 0])


def test_colour_crops_keep_their_channels():
    bgr = np.dstack([gradient(), np.full((160, 200), 7, np.uint8), np.zeros((160, 200), np.uint8)])
    crop = crop_square(bgr, FaceSquare(70.0, 60.0, 96.0), 128)
    assert crop.shape == (128, 128, 3) and np.all(crop[..., 1] == 7)


def test_a_rolled_square_comes_out_upright():
    face = np.zeros((48, 48), np.uint8)
    face[10:16, 8:40] = 255  # a bar across the upper part, as the eyes
    canvas = np.zeros((200, 200), np.uint8)
    canvas[76:124, 76:124] = face
    turned = cv2.warpAffine(canvas, cv2.getRotationMatrix2D((99.5, 99.5), 25, 1.0), (200, 200))  # 25 deg CCW
    upright = crop_square(turned, FaceSquare(100.0, 100.0, 48.0, 25.0), 48)
    assert np.abs(upright.astype(int) - face).mean() < 12  # the bar is back in place (edges interpolated)
    assert np.abs(crop_square(turned, FaceSquare(100.0, 100.0, 48.0, -25.0), 48).astype(int) - face).mean() > 25


def test_the_eye_line_angle_is_counter_clockwise_as_seen():
    assert eye_line_angle((10.0, 50.0, 30.0, 50.0)) == 0.0
    assert eye_line_angle((10.0, 50.0, 30.0, 30.0)) == pytest.approx(45.0)  # the face's left eye higher
    assert eye_line_angle((10.0, 50.0, 30.0, 70.0)) == pytest.approx(-45.0)


def test_a_box_maps_to_its_calibrated_framing():
    framing = BoxFraming(dx=0.1, dy=-0.05, scale=1.2)
    square = framing.square(Box(100, 50, 80, 120))
    assert (square.cx, square.cy, square.side, square.angle) == pytest.approx((148.0, 104.0, 120.0, 0.0))
    assert framing.square(Box(100, 50, 80, 120), margin=0.25).side == pytest.approx(180.0)
    # the roll is read off the eye line only where the detector's landmarks show enough of it
    eyes = Box(100, 50, 80, 80, landmarks=(120.0, 80.0, 160.0, 80.0 - 40 * math.tan(math.radians(8))) + (0.0,) * 6)
    assert framing.roll(eyes) is None  # no eye-line calibration
    assert BoxFraming(0.0, 0.0, 1.0, eye_angle=0.0, eye_gain=0.1).roll(eyes) is None  # shows a tenth: too little
    rolling = BoxFraming(dx=0.1, dy=0.0, scale=1.0, eye_angle=0.0, eye_gain=0.4)
    assert rolling.roll(eyes) == pytest.approx(20.0)  # 8 degrees shown of a 20 degree roll
    assert rolling.roll(Box(100, 50, 80, 80)) is None  # no landmarks
    turned = rolling.square(eyes, rolling.roll(eyes))
    assert turned.angle == pytest.approx(20.0)
    assert (turned.cx, turned.cy) == pytest.approx((140 + 8 * math.cos(math.radians(20)),
                                                    90 - 8 * math.sin(math.radians(20))))  # the offset turns too


@pytest.mark.parametrize("detector", ["haar", "yunet"])
def test_every_detector_ships_its_calibration_with_the_command_that_made_it(detector):
    framing = load_framing(detector)
    raw = json.loads(framing_path(detector).read_text())
    assert framing.detector == detector
    assert framing.full == BoxFraming(**raw["full"]) and framing.near == BoxFraming(**raw["near"])
    assert raw["about"]["command"].startswith(f"python -m fer_models.calibrate_framing --detector {detector}")
    assert 0.5 < framing.full.scale < 2 and 0.5 < framing.near.scale < 2
    assert (framing.full.eye_gain is not None) == (detector == "yunet")  # landmarks: YuNet only


def test_detector_framings_record_where_the_pipeline_crops_each_training_face(fer_csv, tmp_path):
    """fer_models.detector_framings (what `fer_models.train --framings` trains on): Haar, as the
    pipeline runs it, on 30 placed Training faces; each face found has the calibrated square's
    offset and side relative to its own, near its own (the calibration is a median)."""
    from fer_models import detector_framings

    out = tmp_path / "haar.npz"
    assert detector_framings.main(["--detector", "haar", "--data", str(fer_csv), "--limit", "30",
                                   "--out", str(out)]) == 0
    with np.load(out) as stored:
        rows, columns = stored["framings"], list(stored["columns"])
        assert str(stored["detector"]) == "haar" and "--limit 30" in str(stored["command"])
    assert rows.shape == (30, 4) and columns == ["dx", "dy", "side", "angle"]
    found = rows[~np.isnan(rows[:, 0])]
    assert len(found) >= 10
    assert 0.8 < np.median(found[:, 2]) < 1.25 and np.abs(np.median(found[:, :2], axis=0)).max() < 0.1
    assert (found[:, 3] == 0).all()  # Haar gives no eye line: its crops are never turned


def test_a_detector_without_calibration_fails_with_the_command_to_make_it():
    with pytest.raises(ModelError, match="calibrate_framing --detector nobody"):
        load_framing("nobody")


def test_crop_squares_batches_grey_crops():
    bgr = cv2.cvtColor(gradient(), cv2.COLOR_GRAY2BGR)
    batch = crop_squares(bgr, [FaceSquare(70.0, 60.0, 48.0), FaceSquare(150.0, 100.0, 30.0)], 48)
    assert batch.shape == (2, 48, 48) and batch.dtype == np.uint8
    np.testing.assert_array_equal(batch[0], gradient()[36:84, 46:94])
    assert crop_squares(bgr, [], 48).shape == (0, 48, 48)


def test_a_tracked_face_gets_the_crop_of_a_fully_detected_one(two_faces):
    """The same still faces: found by a whole-frame detection, then by the tracking search near
    their boxes (each with its detector's own calibration): the same squares, within a few pixels."""
    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

    pipeline = EmotionPipeline(PipelineConfig(detection_thread=False, confirm_frames=1))
    detected = pipeline.process(two_faces, 1.0)
    tracked = pipeline.process(two_faces, 1.0 + 1 / 30)
    assert detected.full_detection and not tracked.full_detection
    assert len(detected.faces) == len(tracked.faces) == 2
    for a, b in zip(sorted(detected.faces, key=lambda f: f.box.x), sorted(tracked.faces, key=lambda f: f.box.x)):
        assert a.track_id == b.track_id
        assert abs(a.square.cx - b.square.cx) < 0.05 * a.square.side
        assert abs(a.square.cy - b.square.cy) < 0.05 * a.square.side
        assert abs(a.square.side - b.square.side) < 0.08 * a.square.side
