"""Tracker, latest-frame slot, boxes, cropping and drawing: small, fast, no ROS."""

import threading

import numpy as np
import pytest

from fer_ros.core.drawing import annotate
from fer_ros.core.latest import LatestSlot
from fer_ros.core.tracker import IouTracker
from fer_ros.core.types import Box, FaceEmotion


def ids(tracks) -> list[str]:
    return [track.track_id for track in tracks]


def test_tracker_keeps_ids_of_moving_faces_and_expires_them():
    tracker = IouTracker(iou_threshold=0.3, max_age=0.5)
    a, b = Box(0, 0, 50, 50), Box(200, 0, 50, 50)
    first = ids(tracker.update([a, b], 0.0))
    assert len(set(first)) == 2
    moved = ids(tracker.update([Box(205, 3, 50, 50), Box(4, 2, 50, 50)], 0.1))  # order swapped, both moved
    assert moved == [first[1], first[0]]
    assert tracker.update([], 0.3) == []  # short miss
    assert ids(tracker.update([Box(6, 4, 50, 50)], 0.4)) == [first[0]]
    assert ids(tracker.update([Box(6, 4, 50, 50)], 2.0)) != [first[0]]  # expired: a new id


def test_a_face_state_lives_and_expires_with_its_track():
    """Smoothing and the classifier's schedule are kept on the track: a face seen again keeps them,
    an expired one, one not seen in a new scene, and every face after the stamps jump back start afresh."""
    from fer_ros.core.smoothing import EmotionSmoother

    smoother = EmotionSmoother()
    tracker = IouTracker(max_age=0.5)

    def seen(boxes, stamp, scene_cut=False):
        tracks = tracker.update(boxes, stamp, scene_cut=scene_cut)
        for track in tracks:
            track.emotion.classified_as(np.full(7, 1 / 7), stamp, 0, smoother)
        return tracks

    a, b = Box(0, 0, 50, 50), Box(200, 0, 50, 50)
    first = seen([a, b], 0.0)
    again = seen([a, b], 0.1)
    assert again == first and all(t.emotion.passes == 2 and t.emotion.smoothing.stamp == 0.1 for t in again)
    assert seen([a], 1.0)[0] is not first[0]  # unseen for 0.9 s > max_age: a new face, its state new
    assert len(tracker.tracks) == 1 and tracker.tracks[0].emotion.passes == 1
    cut = tracker.update([a, Box(400, 0, 50, 50)], 1.1, scene_cut=True)  # a new scene: b's state is gone too
    assert cut[0] is tracker.tracks[0] and len(tracker.tracks) == 2
    later = tracker.update([Box(200, 0, 50, 50)], 1.2, scene_cut=True)
    assert len(tracker.tracks) == 1 and later[0].emotion.smoothing is None  # not the old b: the cut ended it
    back = tracker.update([a], 0.5)  # stamps jumped back: every face anew
    assert back[0].emotion.smoothing is None and back[0].emotion.passes == 0 and len(tracker.tracks) == 1


def test_tracker_follows_a_fast_face_by_its_velocity():
    """A 50 px face speeding up to 30 px a frame (a 5 Hz camera): a box and the one before then
    overlap by IoU 0.25, below the threshold, but the box predicted from its velocity overlaps the
    new one well."""
    xs = [0, 20, 50, 80, 110, 140, 170]
    boxes = [Box(x, 100, 50, 50) for x in xs]
    assert boxes[3].iou(boxes[2]) < 0.3
    tracker = IouTracker(iou_threshold=0.3, max_age=1.0)
    first = ids(tracker.update([boxes[0]], 0.0))
    for i in range(1, len(xs)):
        assert ids(tracker.update([boxes[i]], 0.2 * i)) == first, i
    track = tracker.tracks[0]
    assert track.velocity == (pytest.approx(150.0), 0.0)  # its last move: 30 px in 0.2 s
    assert track.predicted(1.2).x == xs[-1]  # at the stamp it was seen: where it was
    assert track.predicted(1.4).x > xs[-1] + 20  # a frame later: moved on
    assert track.predicted(100.0).x == xs[-1] + 50  # never more than its side away


def test_tracker_velocity_is_measured_over_a_tenth_of_a_second_at_least():
    """Two frames 2 ms apart (a publisher that stalled, then sent two at once) with 3 px of box
    jitter read as 1500 px/s; the velocity waits for 0.1 s of motion instead."""
    tracker = IouTracker()
    tracker.update([Box(100, 100, 60, 60)], 0.0)
    tracker.update([Box(103, 100, 60, 60)], 0.002)
    track = tracker.tracks[0]
    assert track.velocity == (0.0, 0.0) and track.predicted(0.035).x == 103
    for i in range(1, 5):  # then 30 fps, 2 px a frame
        tracker.update([Box(103 + 2 * i, 100, 60, 60)], 0.002 + i / 30)
    # 9 px in 0.1 s: the 2 px a frame, with the jitter spread over 0.1 s instead of 2 ms
    assert 50 < track.velocity[0] < 100 and track.velocity[1] == 0


def test_tracker_resets_when_time_jumps_back():
    tracker = IouTracker()
    old = ids(tracker.update([Box(0, 0, 40, 40)], 10.0))
    assert ids(tracker.update([Box(0, 0, 40, 40)], 1.0)) != old
    assert len(tracker.tracks) == 1


def test_latest_slot_keeps_the_newest_and_counts_drops():
    slot = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.take(0) == 3 and slot.dropped == 2
    assert slot.take(0.01) is None
    got = []
    worker = threading.Thread(target=lambda: got.append(slot.take(5)))
    worker.start()
    slot.put(4)
    worker.join(5)
    assert got == [4]


def test_box_geometry():
    assert Box(0, 0, 10, 10).iou(Box(5, 0, 10, 10)) == 50 / 150
    assert Box(-5, -5, 20, 20).clipped(10, 10) == Box(0, 0, 10, 10)
    assert Box(10, 20, 30, 40, 0.5, (12.0, 22.0)).mapped(2.0, 5, 7) == Box(25, 47, 60, 80, 0.5, (29.0, 51.0))


def test_annotate_draws_on_a_copy():
    image = np.zeros((120, 160, 3), np.uint8)
    face = FaceEmotion(Box(40, 40, 50, 50), np.eye(7, dtype=np.float32)[3], "face_0")
    out = annotate(image, [face])
    assert out.shape == image.shape and image.max() == 0 and out.max() > 0
