"""The benchmark's pure helpers: frame generation and statistics (no timing asserted)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_ros.bench.frames import CUT_SCENE_FACES, CUT_SCENE_FRAMES, CutSequence, SyntheticSequence, digest, grid, \
    scene_photos
from fer_ros.bench.stats import Target, is_busy, machine_line, paired_error, ratio, summarize
from fer_ros.bench.worker import one_thread_environment
from fer_ros.core.image import FRAME_SIZE


@pytest.fixture
def tiles():
    """Two small stand-in tiles (the bench uses real face crops from fer_ros.tools.photos.face_tiles)."""
    return [np.full((90, 90, 3), 200, np.uint8), np.full((90, 90, 3), 30, np.uint8)]


@pytest.mark.parametrize("faces", [1, 3, 6])
def test_sequence_frames_are_640x480_deterministic_and_move(faces, tiles):
    sequence = SyntheticSequence(faces, 20, tiles=tiles)
    assert len(sequence) == 20 and sequence.name.startswith(f"seq_{faces}face")
    first = sequence.frame(0)
    assert first.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3) and first.dtype == np.uint8
    again = SyntheticSequence(faces, 20, tiles=tiles)
    assert digest(sequence).hexdigest() == digest(again).hexdigest()  # same pixels in every process
    assert not np.array_equal(first, sequence.frame(15))  # the faces move
    width, height = FRAME_SIZE
    for index in range(20):
        corners = sequence.positions(index)
        assert len(corners) == faces
        side = sequence._placed[0].shape[0]
        assert all(0 <= x and x + side <= width and 0 <= y and y + side <= height for x, y in corners)
    with pytest.raises(IndexError):
        sequence.frame(20)


def test_faces_do_not_overlap(tiles):
    sequence = SyntheticSequence(6, 90, tiles=tiles)
    side = sequence._placed[0].shape[0]
    for index in range(0, 90, 7):
        corners = sequence.positions(index)
        for i, (x0, y0) in enumerate(corners):
            for x1, y1 in corners[i + 1:]:
                assert abs(x0 - x1) >= side or abs(y0 - y1) >= side


def test_the_sequence_with_cuts_changes_scene_every_1_to_2_s_and_is_deterministic(tiles):
    from fer_ros.core.finder import scene_change, thumbnail
    from fer_ros.core.schema import default

    sequence = CutSequence(400, tiles=tiles)
    cuts = sequence.cuts
    assert cuts and all(CUT_SCENE_FRAMES[0] <= b - a <= CUT_SCENE_FRAMES[1] for a, b in zip([0] + cuts, cuts))
    assert {sequence.faces_in(i) for i in range(400)} <= set(range(CUT_SCENE_FACES[0], CUT_SCENE_FACES[1] + 1))
    assert len({sequence.faces_in(i) for i in range(400)}) > 1
    assert digest(sequence).hexdigest() == digest(CutSequence(400, tiles=tiles)).hexdigest()
    changes = [scene_change(thumbnail(sequence.frame(i - 1)), thumbnail(sequence.frame(i))) for i in range(1, 400)]
    threshold = default("scene_change_threshold")
    assert [i + 1 for i, change in enumerate(changes) if change > threshold] == cuts  # the node sees each cut
    assert CutSequence(10**6, tiles=tiles).frame(10**6 - 1).shape == (480, 640, 3)  # scenes made on demand


def test_grid_and_empty_sequence():
    assert grid(1) == (2, 1) and grid(3) == (2, 2) and grid(6) == (3, 2)
    empty = SyntheticSequence(0, 2)
    assert empty.positions(1) == [] and empty.frame(1).shape == (480, 640, 3)
    with pytest.raises(ValueError):
        SyntheticSequence(1, 0, tiles=[np.zeros((4, 4, 3), np.uint8)])


def test_scene_photos_are_letterboxed_and_sorted(tmp_path):
    cv2.imwrite(str(tmp_path / "b.png"), np.full((100, 300, 3), 255, np.uint8))
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((400, 200, 3), 255, np.uint8))
    (tmp_path / "notes.md").write_text("not a photo")
    photos = scene_photos(tmp_path)
    assert [name for name, _ in photos] == ["a.jpg", "b.png"]
    assert all(frame.shape == (480, 640, 3) for _, frame in photos)
    tall = photos[0][1]
    assert tall[240, 0].tolist() == [64, 64, 64] and tall[240, 320].tolist() == [255, 255, 255]  # side bars


def test_summarize_median_p99_and_fps():
    summary = summarize([10.0] * 99 + [110.0])
    assert summary.frames == 100 and summary.median_ms == 10.0
    assert summary.p99_ms == pytest.approx(11.0)  # linear interpolation between 10 and 110
    assert summary.mean_ms == pytest.approx(11.0) and summary.fps == pytest.approx(1000 / 11.0)
    assert summarize([40.0]).p99_ms == 40.0
    with pytest.raises(ValueError):
        summarize([])


def test_ratio_and_targets():
    assert ratio(60.0, 20.0) == 3.0 and ratio(None, 20.0) is None and ratio(10.0, 0.0) is None
    assert Target("fps", 31.0, 30, True).reached is True
    assert Target("p99", 50.0, 50, False, " ms").reached is False  # "< 50" is strict
    missing = Target("fps", None, 30, True)
    assert missing.reached is None and "not measured" in missing.line()
    assert "NOT reached" in Target("x", 2.0, 3, True, "x").line()
    with_error = Target("gap", -2.25, -1.5, True, " points", error=0.47)
    assert "-2.25 +- 0.47 points (target >= -1.5 points) -> NOT reached" in with_error.line()
    assert with_error.as_dict()["error"] == 0.47


def test_paired_error_is_the_standard_error_of_the_difference():
    a = np.array([1, 1, 0, 1, 0, 1, 1, 0], bool)
    b = np.array([1, 0, 0, 1, 1, 1, 0, 0], bool)
    d = a.astype(float) - b
    assert paired_error(a, b) == pytest.approx(d.std(ddof=1) / np.sqrt(8))
    assert paired_error(a, a) == 0.0  # the same answers: no spread
    assert paired_error(a[:1], b[:1]) is None


def test_machine_line_flags_a_shared_machine():
    assert not is_busy((0.1, 0.1, 0.1), (1.2, 0.5, 0.2))  # the bench itself keeps one core busy
    assert is_busy((1.9, 1.0, 0.5), (1.0, 1.0, 1.0))
    line = machine_line(1, (1.9, 1.0, 0.5), (3.0, 2.0, 1.0))
    assert "1 used (core 1)" in line and "HIGH" in line
    assert "HIGH" not in machine_line(0, (0.0, 0.0, 0.0), (1.0, 0.5, 0.1))


def test_workers_get_one_thread_per_library():
    env = one_thread_environment({"PATH": "/bin", "OMP_NUM_THREADS": "8"})
    assert env["PATH"] == "/bin" and env["OMP_NUM_THREADS"] == "1" and env["TF_NUM_INTRAOP_THREADS"] == "1"


def test_the_bench_runs_on_one_of_its_cores_and_refuses_another():
    from fer_ros.bench.__main__ import parse_args
    from fer_ros.bench.stats import cores

    assert parse_args([]).core == cores()[-1]
    with pytest.raises(SystemExit):
        parse_args(["--core", str(max(cores()) + 1)])
