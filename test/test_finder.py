"""Detect, then track (fer_ros.core.finder) and confirmation, on synthetic moving boxes.

The "faces" are white squares on black; ``SquareDetector`` finds them in whatever image it is given
(a whole frame or the scaled region around a known face), so the real finder code does the cropping,
scaling and mapping back.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.finder import (COAST_MAX_GAP, OVERDUE_WAIT, QUICK_SIDE, SEARCH, FaceFinder, scene_change, suppress,
                                 thumbnail)
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig
from fer_ros.core.types import Box
from fer_ros.core.whole_frame import BACKGROUND_NICE

FPS = 30.0


class SquareDetector(FaceDetector):
    """Finds white squares (grey level above 200) of at least WINDOW pixels (as Haar's 20-pixel
    window) in the image it is given, and counts the pixels it looked at."""

    name = "squares"
    roi_face_size = 48
    WINDOW = 20

    def __init__(self):
        self.calls = []  # (width, height) of every image searched

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        self.calls.append((bgr.shape[1], bgr.shape[0]))
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        count, _, stats, _ = cv2.connectedComponentsWithStats((gray > 200).astype(np.uint8))
        boxes = []
        for x, y, w, h, _area in stats[1:count]:
            if min(w, h) >= max(min_face_size, self.WINDOW) and (not max_face_size or max(w, h) <= max_face_size):
                boxes.append(Box(int(x), int(y), int(w), int(h), 1.0))
        return sorted(boxes, key=lambda b: b.area, reverse=True)


def frame(*squares: tuple[int, int, int]) -> np.ndarray:
    """A 640x480 black frame with white squares (x, y, side)."""
    image = np.zeros((480, 640, 3), np.uint8)
    for x, y, side in squares:
        image[y:y + side, x:x + side] = 255
    return image


def pipeline(**settings) -> EmotionPipeline:
    """Our pipeline with the square detector in place of the face detector; full detections on the
    frame they are due (no background thread), so every run is the same frame by frame."""
    settings.setdefault("detection_thread", False)
    settings.setdefault("detection_interval", 0.5)  # the schedule these tests count frames with
    settings.setdefault("steady_detection_interval", 0.0)  # ... in a steady scene too
    p = EmotionPipeline(PipelineConfig(detector="haar", min_sharpness=0.0, **settings))
    p.finder.framing  # read Haar's calibration now: the stand-in detector has none
    p.finder.detector = SquareDetector()
    return p


def run(p: EmotionPipeline, frames, start: float = 100.0, fps: float = FPS):
    """Process ``frames`` at ``fps``; a list of {track id: box} of the faces reported per frame."""
    reported = []
    for index, image in enumerate(frames):
        result = p.process(image, start + index / fps)
        reported.append({face.track_id: face.box for face in result.faces})
    return reported


def test_a_moving_face_keeps_its_id_and_is_mostly_searched_near_its_box():
    p = pipeline()
    frames = [frame((100 + 4 * i, 120 + 2 * i, 80)) for i in range(60)]  # 2 s, 120 px/s to the right
    reported = run(p, frames)
    assert reported[0] == {}  # seen once: not yet confirmed
    ids = {track_id for faces in reported[1:] for track_id in faces}
    assert len(ids) == 1 and all(len(faces) == 1 for faces in reported[1:])
    last = next(iter(reported[-1].values()))
    assert abs(last.x - (100 + 4 * 59)) <= 2 and abs(last.width - 80) <= 2  # it followed the face
    # full detections on the first frame and every 0.5 s after it, searches on the others
    assert p.finder.full_detections == 4 and p.finder.searches == 56
    searched = [size for size in p.detector.calls if size != (640, 480)]
    side = round(round(SEARCH * 80) * 48 / 80)  # SEARCH times the face, scaled so the face is 48 px
    assert searched and all(size == (side, side) for size in searched)


def test_a_fast_face_at_a_slow_camera_is_searched_where_it_is_heading():
    """80 px speeding up to 60 px a frame at 5 Hz: soon past the square searched around its last
    box (24 px to spare on each side), inside the one around where its velocity puts it."""
    xs = np.cumsum([40, 20, 30, 40, 50, 60, 60, 60, 60, 60])
    p = pipeline(detection_interval=10.0)
    reported = run(p, [frame((int(x), 200, 80)) for x in xs], fps=5.0)
    assert p.finder.full_detections == 1 and p.finder.searches == 9  # never lost
    assert len({t for faces in reported[1:] for t in faces}) == 1 and all(len(f) == 1 for f in reported[1:])


class LargeSquaresOnly(SquareDetector):
    """Misses squares under 60 pixels: a face scaled to roi_face_size (48) for the search is missed."""

    WINDOW = 60


def test_a_face_missed_at_the_search_scale_is_looked_for_again_at_the_retry_size():
    image, last = frame((200, 150, 120)), Box(200, 150, 120, 120, 1.0)
    region = lambda face_side: (round(SEARCH * face_side),) * 2  # noqa: E731 (the square searched, scaled)
    detector = LargeSquaresOnly()
    finder = FaceFinder(detector)
    assert finder.search(image, last) is None  # no retry size: one look, a miss
    assert detector.calls == [region(48)] and finder.retries == 0
    detector.roi_retry_size = 80
    found = finder.search(image, last)
    assert found is not None and found.iou(last) > 0.9  # in pixels of the frame
    assert detector.calls[1:] == [region(48), region(80)] and finder.retries == 1
    found_first = SquareDetector()  # found at 48: no second look
    found_first.roi_retry_size = 80
    finder = FaceFinder(found_first)
    assert finder.search(image, last).iou(last) > 0.9
    assert found_first.calls == [region(48)] and finder.retries == 0


def test_a_face_entering_is_found_by_the_next_full_detection():
    p = pipeline()
    frames = [frame((60, 60, 80)) if i < 10 else frame((60, 60, 80), (400, 200, 90)) for i in range(40)]
    reported = run(p, frames)
    counts = [len(faces) for faces in reported]
    assert counts[1:10] == [1] * 9
    first_full_after = 15  # full detections at frames 0, 15, 30 (every 0.5 s)
    assert counts[10:first_full_after + 1] == [1] * (first_full_after + 1 - 10)  # found there, then confirmed
    assert counts[first_full_after + 1:] == [2] * (40 - first_full_after - 1)


def test_an_empty_scene_is_searched_whole_on_every_frame():
    p = pipeline()
    reported = run(p, [frame()] * 5 + [frame((300, 200, 80))] * 3)
    assert p.finder.full_detections == 6  # a face entering an empty room is found at once ...
    assert [len(faces) for faces in reported] == [0] * 6 + [1, 1]  # ... and reported once confirmed


@pytest.mark.parametrize("search_every", [1, 2])
def test_a_face_leaving_is_not_reported_and_its_track_expires(search_every):
    p = pipeline(track_max_age=0.5, search_every=search_every)
    frames = [frame((200, 200, 80))] * 10 + [frame()] * 30
    reported = run(p, frames)
    assert all(len(faces) == 1 for faces in reported[1:10])
    # a face coasting (search_every 2) when it leaves is reported where it was heading once more, no longer
    assert all(faces == {} for faces in reported[10 + search_every - 1:])
    assert p.tracker.live(100 + 39 / FPS) == []


def test_a_face_occluded_for_a_few_frames_keeps_its_id():
    p = pipeline(track_max_age=1.0)
    visible = [frame((200 + 3 * i, 150, 80)) for i in range(40)]
    frames = visible[:15] + [frame()] * 8 + visible[23:]  # hidden for 0.27 s
    reported = run(p, frames)
    before = set(reported[14])
    assert len(before) == 1 and all(faces == {} for faces in reported[15:23])
    assert all(set(faces) == before for faces in reported[23:])  # same id, no new confirmation wait


def test_a_false_face_seen_in_a_single_frame_is_never_reported():
    p = pipeline(detection_interval=0.0)  # the whole frame every time, so the false face is found
    frames = [frame((100, 100, 80))] * 10
    frames[5] = frame((100, 100, 80), (400, 300, 70))  # a one-frame false face
    reported = run(p, frames)
    assert all(len(faces) == 1 for faces in reported[1:])
    real = next(iter(reported[1]))
    assert all(set(faces) == {real} for faces in reported[1:])
    false = [t for t in p.tracker.tracks if t.track_id != real]
    assert len(false) == 1 and false[0].hits == 1  # it was detected, tracked, and never reported


def test_a_still_photo_shown_for_a_fraction_of_a_second_is_reported():
    photo = frame((100, 100, 80), (300, 220, 100))
    for seconds in (0.2, 0.5):
        p = pipeline()
        reported = run(p, [photo] * int(seconds * 10), fps=10.0)  # a camera at 10 Hz
        assert len(reported[-1]) == 2, seconds
    single = run(pipeline(confirm_frames=1), [photo])  # the CLI on one photo: every face at once
    assert len(single[0]) == 2


def test_a_scene_cut_searches_the_whole_frame_at_once():
    p = pipeline()
    first = run(p, [frame((100, 100, 80))] * 5)
    grey = np.full((480, 640, 3), 150, np.uint8)  # most of the picture changes
    grey[300:380, 420:500] = 255
    second = run(p, [grey] * 3, start=100 + 5 / FPS)
    assert set(first[-1]).isdisjoint(second[-1]) and len(second[-1]) == 1
    assert second[0] == {}  # a new face in the new scene waits for its confirmation


def test_a_scene_changing_slowly_is_no_scene_cut():
    """The picture brightening 2 grey levels a frame (a cloud passing, the camera's exposure) changes
    little from one frame to the next: detections stay on their schedule and the face keeps its id."""
    def lit(index):
        image = np.full((480, 640, 3), 2 * index, np.uint8)
        image[100:180, 100 + 2 * index:180 + 2 * index] = 255
        return image

    p = pipeline()
    reported = run(p, [lit(index) for index in range(60)])  # 120 grey levels in 2 s
    assert p.finder.full_detections == 4  # frames 0, 15, 30, 45: no cut
    assert len({t for faces in reported[1:] for t in faces}) == 1
    jump = lit(59)
    jump[jump < 255] = 200  # at once: 82 grey levels
    run(p, [jump], start=100 + 60 / FPS)
    assert p.finder.full_detections == 5  # a cut: searched whole on the spot


def test_stamps_jumping_back_start_afresh():
    p = pipeline()
    run(p, [frame((100, 100, 80))] * 20)
    full = p.finder.full_detections
    again = run(p, [frame((100, 100, 80))] * 2, start=50.0)  # a bag replayed in a loop
    assert p.finder.full_detections == full + 1 and again[0] == {} and len(again[1]) == 1


def test_settings_change_live_and_keep_tracks():
    p = pipeline()
    reported = run(p, [frame((100, 100, 80))] * 5)
    ids = set(reported[-1])
    from dataclasses import replace

    assert p.reconfigure(replace(p.config, detection_interval=0.0, confirm_frames=3)) == \
        {"detection_interval", "confirm_frames"}
    full = p.finder.full_detections
    later = run(p, [frame((100, 100, 80))] * 3, start=100 + 5 / FPS)
    assert p.finder.full_detections == full + 3 and set(later[-1]) == ids  # every frame, same face


class HeldSquareDetector(SquareDetector):
    """The background thread's detector: a whole frame waits until the test lets it go, but for the
    first ``free`` (the first frame's, which runs beside its quick look)."""

    def __init__(self, free: int = 0):
        super().__init__()
        self.go = threading.Event()
        self.started = threading.Event()
        self.niceness = None  # of the thread that searched a whole frame (Linux)
        self.free = free

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        if bgr.shape[:2] == (480, 640) and self.free:
            self.free -= 1
        elif bgr.shape[:2] == (480, 640):
            if sys.platform == "linux":
                self.niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            self.started.set()
            assert self.go.wait(10), "never released"
        return super().detect(bgr, min_face_size, max_face_size)


def hold_background_detection(p, free: int = 1) -> HeldSquareDetector:
    """Make ``p``'s background detections run on a HeldSquareDetector: each but the first ``free``
    waits to be released."""
    held = HeldSquareDetector(free)
    p.finder.use_detector(p.finder.detector, lambda: held)
    assert p.finder.threaded
    return held


def wait_for_background_detection(p) -> None:
    """Until ``p``'s background detection has ended (it fails the test after 10 s)."""
    assert p.finder.background.finished(10), "the background detection did not end within 10 s"


def begin(p, frames, start: float = 100.0):
    """``run`` a threaded pipeline's first ``frames``: the first gets a quick look and its full
    detection beside it, which ends before the second frame (as it would between a camera's frames)."""
    first = run(p, frames[:1], start)
    wait_for_background_detection(p)
    return first + run(p, frames[1:], start + 1 / FPS)


def test_the_background_detection_never_delays_a_frame_and_brings_new_faces():
    p = pipeline(detection_thread=True)
    held = hold_background_detection(p)
    one = frame((100, 100, 80))
    two = frame((100, 100, 80), (400, 250, 90))
    reported = begin(p, [one] * 15)  # frame 0: a quick look on the spot, its full detection beside it
    assert p.finder.full_detections == 1 and p.finder.quick_looks == 1 and not held.started.is_set()
    # 0.5 s later the scheduled detection starts in the background, and stays there ...
    waiting = run(p, [two] * 10, start=100 + 15 / FPS)
    assert held.started.wait(10)
    if sys.platform == "linux":  # it yields the core to the frames
        assert held.niceness >= BACKGROUND_NICE > os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    ids = set(reported[-1])
    assert all(set(faces) == ids for faces in waiting)  # ... while every frame is answered, tracked face only
    held.go.set()
    wait_for_background_detection(p)
    later = run(p, [two] * 3, start=100 + 25 / FPS)
    # the new face joins, confirmed at once: the detection saw it in its frame, the search in this one
    assert [len(faces) for faces in later] == [2, 2, 2]
    assert ids <= set(later[-1])
    thread = p.finder.background._thread  # this pipeline's (other tests' pipelines may have theirs)
    assert thread is not None and thread.name.startswith("fer_face_detection")
    p.close()  # the detection thread ends
    thread.join(1.0)
    assert not thread.is_alive()


def background_detection_of(p, frames, then):
    """Run ``frames`` while a background detection started on the first of them (0.5 s after the
    pipeline's first frame) is held, let it finish, then process ``then``: its result."""
    held = hold_background_detection(p)
    begin(p, [frame((100, 100, 80))] * 15)
    run(p, frames, start=100 + 15 / FPS)
    assert held.started.wait(10)
    held.go.set()
    wait_for_background_detection(p)
    result = p.process(then, 100 + (15 + len(frames)) / FPS)
    p.close()
    return result


def test_a_face_the_background_detection_found_is_placed_where_it_is_now():
    """The detection ran on a frame some frames old: a new face it found has moved since (60 px, two
    thirds of its size), and is searched for around where it was, so its track starts at its box
    in this frame."""
    p = pipeline(detection_thread=True, confirm_frames=1)
    moving = [frame((100, 100, 80), (400 + 6 * i, 250, 90)) for i in range(10)]
    result = background_detection_of(p, moving, frame((100, 100, 80), (460, 250, 90)))
    boxes = sorted((face.box for face in result.faces), key=lambda b: b.x)
    assert len(boxes) == 2 and abs(boxes[1].x - 460) <= 1, boxes  # not at 400, where the detection saw it


def test_a_face_the_background_detection_found_that_has_gone_is_dropped():
    """... and the tracked face next to where it was is not taken for it."""
    p = pipeline(detection_thread=True, confirm_frames=1)
    result = background_detection_of(p, [frame((100, 100, 80), (190, 100, 90))] * 10, frame((100, 100, 80)))
    assert len(result.faces) == 1 and len(p.tracker.tracks) == 1
    assert p.finder.search_all(frame((100, 100, 80)), Box(190, 100, 90, 90), 90, 3.0)  # it was in reach


def test_an_overdue_background_detection_is_waited_for_once_and_not_for_long():
    """On a core kept busy by frames the low-priority thread gets little time: once the detection
    has run for detection_interval, the frame thread waits for it (at most OVERDUE_WAIT) rather
    than search near the known faces only, for ever."""
    p = pipeline(detection_thread=True)
    held = hold_background_detection(p)
    one = frame((100, 100, 80))
    two = frame((100, 100, 80), (400, 250, 90))
    begin(p, [one] * 15)
    waiting = run(p, [two] * 14, start=100 + 15 / FPS)  # started, not yet overdue: never waited for
    assert held.started.wait(10) and not held.go.is_set() and all(len(faces) == 1 for faces in waiting)
    release = threading.Timer(OVERDUE_WAIT / 4, held.go.set)
    release.start()
    try:
        overdue = run(p, [two], start=100 + 30 / FPS)  # detection_interval (0.5 s) after it started
        assert held.go.is_set()  # this frame waited for the detection ...
        assert len(p.tracker.tracks) == 2 and len(overdue[-1]) == 2  # ... and the new face joins it
    finally:
        held.go.set()
        release.cancel()
        p.close()


def test_a_steady_scene_is_searched_whole_every_steady_detection_interval():
    """Once a background detection found no face that was not tracked, and every tracked face is
    found, full detections come every steady_detection_interval; a face joining is found by the next
    one, and makes the scene unsteady (every detection_interval again), as does a face lost."""
    p = pipeline(detection_thread=True, detection_interval=0.5, steady_detection_interval=1.5)
    held = hold_background_detection(p)
    held.go.set()
    one = frame((100, 100, 80))
    two = frame((100, 100, 80), (400, 250, 90))
    started = []  # the frames on which a full detection started
    for index in range(150):
        count = p.finder.full_detections
        image = one if index < 70 else two if index < 130 else frame((400, 250, 90))  # joins at 70, one leaves at 130
        p.process(image, 100 + index / FPS)
        if p.finder.full_detections > count:
            started.append(index)
        wait_for_background_detection(p)  # the detection ends before the next frame, whatever the load
    # 0: the first frame's (beside its quick look), which finds no new face: steady, every 1.5 s from
    # then on; the face that joined at 70 is found by the one at 90 (unsteady: 0.5 s to the next, 105,
    # steady again); the face lost at 130 ends steadiness as soon as a search misses it (131, on its
    # turn), so the next comes on the following frame, not 1.5 s after 105
    assert started == [0, 45, 90, 105, 132, 147], started
    p.close()


def test_an_empty_view_is_searched_every_empty_detection_interval_beside_the_frames():
    p = pipeline(detection_thread=True, empty_detection_interval=0.5, confirm_frames=1)
    held = hold_background_detection(p)
    held.go.set()
    started, faces = [], []
    for index in range(60):  # 2 s: empty, then a face enters at frame 40
        count = p.finder.full_detections
        faces.append(len(p.process(frame((300, 200, 80)) if index >= 40 else frame(), 100 + index / FPS).faces))
        if p.finder.full_detections > count:
            started.append(index)
        wait_for_background_detection(p)
    assert started[:4] == [0, 15, 30, 45], started  # the first frame on the spot, then every 0.5 s beside
    assert faces.index(1) == 46  # found by the detection that started at 45, ended before 46
    p.close()


def test_a_hung_background_detection_costs_no_frame_and_is_reported():
    """A detector that hangs in the background thread: the first overdue frame waits OVERDUE_WAIT
    for it, no later one waits; every frame is answered with the tracked face, and says why faces
    entering are not found; once the detection ends, its faces join."""
    p = pipeline(detection_thread=True)
    held = hold_background_detection(p)
    one = frame((100, 100, 80))
    two = frame((100, 100, 80), (400, 250, 90))
    begin(p, [one] * 15)
    try:
        results = [p.process(two, 100 + index / FPS) for index in range(15, 45)]  # 0.5 s overdue at 30
        assert held.started.wait(10) and not held.go.is_set()
        assert all(len(r.faces) == 1 for r in results)  # the tracked face, on every frame
        overdue = [r for r in results if r.faults]
        assert overdue == results[15:], [len(r.faults) for r in results]  # from the first overdue frame on
        assert all(f.kind == "detection_overdue" and "still running" in f.message for r in overdue for f in r.faults)
        waited = [r.timings["detection"] for r in results]
        # the frame that waited, and no other, took OVERDUE_WAIT (about: the wait is on an Event)
        assert waited[15] >= OVERDUE_WAIT * 0.9 and sum(t >= OVERDUE_WAIT * 0.9 for t in waited) == 1, waited
    finally:
        held.go.set()
    wait_for_background_detection(p)
    later = [p.process(two, 100 + index / FPS) for index in range(45, 47)]
    assert not later[0].faults and len(later[1].faces) == 2  # it ended: the new face joins, then is confirmed
    p.close()


def test_a_failing_background_detection_costs_no_frame_and_is_reported_once():
    class Failing(SquareDetector):
        def detect(self, bgr, min_face_size=32, max_face_size=0):
            if bgr.shape[:2] == (480, 640):
                raise RuntimeError("injected failure")
            return super().detect(bgr, min_face_size, max_face_size)

    p = pipeline(detection_thread=True)
    p.finder.use_detector(p.finder.detector, Failing)
    one = frame((100, 100, 80))
    results = [p.process(one, 100)]  # the first frame: a quick look on the frame, its full detection beside
    wait_for_background_detection(p)
    results += [p.process(one, 100 + index / FPS) for index in range(1, 16)]  # the scheduled one starts at 15
    assert p.finder.full_detections == 2 and p.finder.quick_looks == 1
    wait_for_background_detection(p)
    results += [p.process(one, 100 + index / FPS) for index in range(16, 19)]
    faults = {index: r.faults for index, r in enumerate(results) if r.faults}
    assert sorted(faults) == [1, 16], faults  # each failure collected exactly once, by the next frame
    assert all(len(f) == 1 and f[0].kind == "detection_failed" for f in faults.values()), faults
    assert "RuntimeError('injected failure')" in faults[1][0].message
    assert all(len(r.faces) == 1 for r in results[1:])  # no frame lost
    p.close()


def test_a_change_of_detection_settings_cancels_the_background_detection_and_nothing_else_does():
    p = pipeline(detection_thread=True)
    held = hold_background_detection(p)
    one = frame((100, 100, 80))
    two = frame((100, 100, 80), (400, 250, 90))
    run(p, [one] * 15)
    run(p, [two] * 2, start=100 + 15 / FPS)
    assert held.started.wait(10) and p.finder.background.busy
    from dataclasses import replace

    p.reconfigure(replace(p.config, hysteresis=0.2, detection_interval=0.6, scene_change_threshold=30.0))
    assert p.finder.background._job.cancelled is False  # kept: its settings did not change
    p.reconfigure(replace(p.config, min_face_size=40))
    assert p.finder.background._job.cancelled is True
    held.go.set()
    wait_for_background_detection(p)
    result = p.process(two, 100 + 17 / FPS)
    assert len(p.tracker.tracks) == 1 and p.finder.discarded == 1  # its face was dropped, not added
    assert not result.faults
    p.close()


class SlowSquareDetector(SquareDetector):
    """A whole 640x480 frame takes 40 ms, more than a frame at 30 Hz (as Haar's 60-110 ms)."""

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        if bgr.shape[:2] == (480, 640):
            time.sleep(0.04)
        return super().detect(bgr, min_face_size, max_face_size)


def cut_scene() -> np.ndarray:
    new_scene = np.full((480, 640, 3), 120, np.uint8)
    new_scene[100:180, 100:180] = 255  # where a face was: keeps its id
    new_scene[300:420, 300:420] = 255  # a new large face
    new_scene[300:336, 500:536] = 255  # a small one: 18 px in the quick look's half-scale frame, below WINDOW
    return new_scene


def test_a_scene_cut_costs_a_quick_look_and_the_full_detection_runs_beside_the_frames():
    """With the background thread, a cut at 30 Hz gets a quick look at the frame scaled to
    QUICK_SIDE (the larger faces at once) and the full detection in the background (the smaller
    faces a few frames later); tracked faces not seen in the new scene end, faces seen where one
    was keep its id."""
    p = pipeline(detection_thread=True, confirm_frames=1)
    p.finder.framing  # read Haar's calibration now: the stand-in detector has none
    p.finder.detector = SlowSquareDetector()
    held = hold_background_detection(p)
    held.go.set()  # background detections run freely ...
    run(p, [frame((100, 100, 80), (400, 100, 80))] * 3)
    ids = {t.track_id for t in p.tracker.tracks}
    assert len(ids) == 2
    held.go.clear()  # ... until the cut: hold the full detection of the new scene
    held.started.clear()
    looks = p.finder.quick_looks  # the first frame's
    quick = p.process(cut_scene(), 100 + 3 / FPS)
    assert quick.full_detection and p.finder.quick_looks == looks + 1
    assert max(p.detector.calls[-1]) == QUICK_SIDE  # the frame thread looked at the frame scaled down
    assert held.started.wait(10)  # the full detection of the new scene runs beside it
    found = {f.box.x: f.track_id for f in quick.faces}
    assert sorted(found) == [100, 300], found  # not the small face: too small for the quick look
    assert found[100] in ids and found[300] not in ids  # the face where one was keeps its id
    assert {t.track_id for t in p.tracker.tracks} == set(found.values())  # the other track ended
    held.go.set()
    wait_for_background_detection(p)
    later = p.process(cut_scene(), 100 + 4 / FPS)
    xs = sorted(f.box.x for f in later.faces)  # within a pixel: the search's resize blurs the edges
    assert len(xs) == 3 and all(abs(x - e) <= 1 for x, e in zip(xs, [100, 300, 500])), xs  # the small face joins
    p.close()


def test_a_scene_cut_between_slow_frames_is_searched_whole_on_the_frame():
    """Frames a second apart (a slide show, a bag of photos at 1 Hz) leave room for a whole-frame
    detection on the frame: a cut then finds every face at once."""
    p = pipeline(detection_thread=True, confirm_frames=1)
    p.finder.framing  # read Haar's calibration now: the stand-in detector has none
    p.finder.detector = SlowSquareDetector()
    run(p, [frame((100, 100, 80), (400, 100, 80))] * 3, fps=1.0)
    looks = p.finder.quick_looks  # the first frame's: nothing tells how fast frames come yet
    result = p.process(cut_scene(), 100 + 3.0)
    assert p.finder.quick_looks == looks and max(p.detector.calls[-1]) == 640
    assert sorted(f.box.x for f in result.faces) == [100, 300, 500]
    p.close()


class Recording:
    """A detector that records, for each whole frame it searches, the thread it ran in and how many
    faces it found (wraps the pipeline's own detector)."""

    def __init__(self, inner, calls: list):
        self._inner, self._calls = inner, calls

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        boxes = self._inner.detect(bgr, min_face_size, max_face_size)
        self._calls.append((threading.current_thread().name, len(boxes)))
        return boxes


def tiles_of(sequence, index: int) -> tuple[int, list[Box]]:
    """(scene number, the face tiles of frame ``index``) of a CutSequence: where each face is."""
    firsts = [0, *sequence.cuts]
    number = max(n for n, first in enumerate(firsts) if first <= index)
    scene = sequence.scene(number)
    corners = scene.positions(index - firsts[number])
    return number, [Box(x, y, tile.shape[1], tile.shape[0]) for tile, (x, y) in zip(scene._placed, corners)]


# Frames after a background detection started at which the test waits for it to end (it runs beside
# those frames meanwhile, for however long the machine gives it), so that what it found is taken by then.
LAG = 3


@pytest.mark.parametrize("paced", [True, False], ids=["camera", "replay"])
def test_the_threaded_detection_over_a_sequence_with_cuts_holds_frame_by_frame(paced):
    """The default pipeline (Haar, detection_thread true, confirm_frames 2, search_every 2) over a
    synthetic 30 fps video of real faces moving, cut twice into a new scene (6, 4 and 6 faces; the
    third scene's faces too small for the quick look), fed as a camera would (paced at its stamps)
    or as a bag replayed as fast as possible. Whatever the background thread's timing, on every
    frame: an answer without faults, each face reported inside a face of the frame (no false face,
    none twice), a face keeping its id through its scene; and from LAG frames after a scene starts
    on, every face of it. Each background detection is waited for LAG frames after it started (it
    runs beside the frames in between); it ran in the detection thread and found the faces of the
    frame it was started on."""
    from fer_ros.bench.frames import CutSequence
    from fer_ros.core.detectors import create_detector, detector_options
    from fer_ros.core.whole_frame import THREAD_NAME

    sequence = CutSequence(150)
    assert sequence.cuts == [56, 105]
    p = EmotionPipeline(PipelineConfig())
    assert p.config.detection_thread and p.finder.threaded and p.detector_name == "haar"
    calls: list[tuple[str, int]] = []  # the background detector's: (thread, faces found)
    options = detector_options("haar", p.config)  # the thread's detector, built as the pipeline builds it
    p.finder.use_detector(p.finder.detector, lambda: Recording(create_detector("haar", **options), calls))
    started, quick_looks, cut_frames = [], [], []  # frames on which a background detection started, ...
    ids: dict[tuple[int, int], str] = {}  # (scene, face) -> the id it is reported with
    reported = []  # per frame: the faces reported
    begin = time.monotonic()
    try:
        for index in range(len(sequence)):
            if paced:  # a camera: frame ``index`` comes at its stamp (image time, nothing to wait on)
                time.sleep(max(0.0, begin + index / FPS - time.monotonic()))
            if started and index == started[-1] + LAG:
                wait_for_background_detection(p)
            full, quick = p.finder.full_detections, p.finder.quick_looks
            result = p.process(sequence.frame(index), 100 + index / FPS)
            reported.append(result.faces)
            if p.finder.quick_looks > quick:
                quick_looks.append(index)
            if p.finder.full_detections > full and (not result.full_detection or p.finder.quick_looks > quick):
                started.append(index)
            if result.full_detection:
                cut_frames.append(index)
            scene, tiles = tiles_of(sequence, index)
            assert (result.image_width, result.image_height) == (640, 480) and not result.faults, (index, result.faults)
            where = {}
            for face in result.faces:
                cx, cy = face.box.centre
                inside = [k for k, t in enumerate(tiles) if t.x <= cx <= t.x + t.width and t.y <= cy <= t.y + t.height]
                assert len(inside) == 1 and inside[0] not in where, (index, face.box, tiles)  # a face, once
                where[inside[0]] = face.track_id
                assert ids.setdefault((scene, inside[0]), face.track_id) == face.track_id, (index, inside[0])
            first = [0, *sequence.cuts][scene]
            if index >= first + LAG:
                assert sorted(where) == list(range(len(tiles))), (index, sorted(where), len(tiles))
        wait_for_background_detection(p)
    finally:
        p.close()
    # every scene searched whole on its first frame (each with a quick look, the full detection
    # beside it); no other frame
    assert cut_frames == [0, *sequence.cuts] == quick_looks, (cut_frames, quick_looks)
    # the full detections of the scenes' first frames ran beside the frames, in the detection thread,
    # and found every face of their frame
    assert set(quick_looks) <= set(started), (started, quick_looks)
    assert [thread for thread, _ in calls] == [THREAD_NAME] * len(started), calls
    assert [found for _, found in calls] == [len(tiles_of(sequence, i)[1]) for i in started], (calls, started)
    # A cut gets a quick look unless a whole-frame detection takes under half a frame (Haar: 80 ms
    # here). The third scene's faces are too small for it: they joined from its background detection.
    if 105 in quick_looks:
        assert len(reported[105]) < 6 and len({ids[key] for key in ids if key[0] == 2}) == 6, reported[105]


def test_helpers():
    assert scene_change(thumbnail(frame()), thumbnail(frame((0, 0, 200)))) == 0.0  # less than half changed
    assert scene_change(thumbnail(frame()), thumbnail(np.full((480, 640, 3), 90, np.uint8))) == pytest.approx(90)
    kept = suppress([Box(0, 0, 10, 10, 0.5), Box(1, 1, 10, 10, 0.9), Box(50, 50, 10, 10, 0.1)])
    assert kept == [Box(1, 1, 10, 10, 0.9), Box(50, 50, 10, 10, 0.1)]
    finder = FaceFinder(SquareDetector())
    found = finder.search(frame((0, 0, 40)), Box(0, 0, 40, 40))  # at the image border
    # within a pixel: the square's edges blur when its region is resized
    assert found is not None and max(abs(a - b) for a, b in zip((found.x, found.y, found.width, found.height), (0, 0, 40, 40))) <= 1, found
    assert finder.search(frame(), Box(0, 0, 40, 40)) is None


def test_real_faces_held_still_are_found_in_every_frame_without_drifting_in_size():
    """Haar on a real photo: each search looks for the size of the last full detection, so a box that
    comes out a little larger cannot grow from frame to frame until the face is lost (it did)."""
    from fer_ros.core.image import letterbox
    from fer_ros.tools.photos import demo_photos

    photo = letterbox(demo_photos()["astronaut_and_hopper"])  # faces of 126 and 61 px
    p = EmotionPipeline(PipelineConfig(confirm_frames=1, detection_thread=False))  # frame by frame
    reported = run(p, [photo] * 30, fps=10.0)
    assert p.finder.searches > 20
    first = reported[0]
    assert len(first) == 2 and all(set(faces) == set(first) for faces in reported)
    for faces in reported:
        for track_id, box in faces.items():
            assert abs(box.width - first[track_id].width) <= 0.2 * first[track_id].width, (track_id, box)


class CountingClassifier:
    """A classifier whose every output row is new (a random probability vector), so a face's raw
    scores change exactly on the frames it was classified; counts rows per call."""

    input_size = 48

    def __init__(self):
        self.rows = []  # rows classified per call
        self._random = np.random.default_rng(0)

    def _scores(self, crops):
        self.rows.append(len(crops))
        scores = self._random.random((len(crops), 7)).astype(np.float32)
        return scores / scores.sum(axis=1, keepdims=True)

    predict = predict_single = _scores

    def close(self):
        pass


SIX = [(40, 60), (260, 60), (480, 60), (40, 300), (260, 300), (480, 300)]


def classify_run(count: int, frames: int, **settings):
    """``count`` of the SIX squares moving right 2 px a frame; per frame: rows classified and the
    reported faces ({track id: FaceEmotion}). Every face is searched for on every frame unless
    ``search_every`` says otherwise (the classification schedule alone)."""
    settings.setdefault("search_every", 1)
    p = pipeline(confirm_frames=1, **settings)
    p.classifier = CountingClassifier()
    rows, reported = [], []
    for index in range(frames):
        before = sum(p.classifier.rows)
        result = p.process(frame(*[(x + 2 * index, y, 80) for x, y in SIX[:count]]), 100 + index / FPS)
        rows.append(sum(p.classifier.rows) - before)
        reported.append({face.track_id: face for face in result.faces})
    return rows, reported


def test_six_tracked_faces_are_classified_half_at_a_time_each_at_least_every_other_frame():
    rows, reported = classify_run(6, 20, classify_every=2)
    assert rows == [12] + [3] * 19  # the new faces on their first frame (each with its mirror image), then 3 a frame
    ids = set(reported[0])
    assert len(ids) == 6 and all(set(faces) == ids for faces in reported)
    for index in range(1, 20):
        changed = {t for t in ids if not np.array_equal(reported[index][t].scores, reported[index - 1][t].scores)}
        assert len(changed) == 3, index
        for t in ids - changed:  # not classified this frame: last probabilities and smoothed state kept
            assert np.array_equal(reported[index][t].smoothed.scores, reported[index - 1][t].smoothed.scores)
        if index >= 2:  # none waits two frames
            assert all(not np.array_equal(reported[index][t].scores, reported[index - 2][t].scores) for t in ids)


def test_one_face_is_classified_every_other_frame_and_classify_every_1_classifies_all():
    rows, reported = classify_run(1, 10, classify_every=2)
    assert rows == [2, 0] + [1, 0] * 4  # the first classification: the face and its mirror image
    for index in range(1, 10):  # a frame that did not classify it keeps its last probabilities
        (_, now), (_, before) = *reported[index].items(), *reported[index - 1].items()
        assert np.array_equal(now.scores, before.scores) == (index % 2 == 1), index
    rows, _ = classify_run(6, 10, classify_every=1)
    assert rows == [12] + [6] * 9


def test_a_face_entering_is_classified_at_once_on_top_of_the_schedule():
    p = pipeline(confirm_frames=1, classify_every=3, search_every=1)
    p.classifier = CountingClassifier()
    rows, last = [], {}  # classifications per frame; per track the frames it was classified on
    for index in range(30):  # the sixth face enters at frame 15, the next full detection (0.5 s)
        count = 6 if index >= 15 else 5
        before = sum(p.classifier.rows)
        p.process(frame(*[(x + 2 * index, y, 80) for x, y in SIX[:count]]), 100 + index / FPS)
        rows.append(sum(p.classifier.rows) - before)
        for track in p.tracker.tracks:
            if track.emotion.frame == p.finder.frames:
                last.setdefault(track.track_id, []).append(index)
    assert rows[0] == 10 and sum(rows[3:15]) == 5 * 12 // 3  # 5 new faces with their mirror images; each every 3 frames ...
    assert max(rows[1:15]) - min(rows[1:15]) <= 1  # ... spread evenly: 1 or 2 a frame
    new = [t for t, frames in last.items() if frames[0] == 15]
    assert len(new) == 1  # the new face on the frame it is first seen
    assert all(b - a <= 3 for frames in last.values() for a, b in zip(frames, frames[1:]))  # none waits longer
    assert sum(rows[18:30]) == 6 * 12 // 3


def coast_run(fps: float, frames: int = 20):
    """The SIX squares moving right 2 px a frame at ``fps``, search_every 2 and classify_every 2; per
    frame the images the detector looked at, and per face whether it was classified and searched for
    in that frame and how far its reported box is from the square."""
    p = pipeline(confirm_frames=1, classify_every=2, search_every=2, detection_interval=10.0)
    p.classifier = CountingClassifier()
    looked, faces = [], []
    for index in range(frames):
        before = len(p.detector.calls)
        squares = [(x + 2 * index, y) for x, y in SIX]
        result = p.process(frame(*[(x, y, 80) for x, y in squares]), 100 + index / fps)
        looked.append(len(p.detector.calls) - before)
        this = {}
        for face in result.faces:
            track = p.tracker.get(face.track_id)
            error = min(abs(face.box.x - x) + abs(face.box.y - y) for x, y in squares)
            found = track.searched == p.finder.frames or index == 0
            assert face.coasted == (not found)  # what the REP-155 output reads (no crop of a coasting face)
            this[face.track_id] = (track.emotion.frame == p.finder.frames, found and index > 0, error)
        faces.append(this)
    return looked, faces


def test_each_face_is_searched_every_other_frame_and_coasts_in_between_at_30_hz():
    looked, faces = coast_run(FPS)
    # the whole frame, then every face (the frame after a whole-frame detection), then half a frame
    assert looked == [1, 6] + [3] * 18
    ids = set(faces[0])
    assert len(ids) == 6 and all(set(this) == ids for this in faces)
    for index, this in enumerate(faces[2:], 2):
        searched = {t for t, (_, found, _) in this.items() if found}
        assert len(searched) == 3, index
        if index > 2:  # turns alternate
            assert all(t not in searched for t, (_, found, _) in faces[index - 1].items() if found)
        for t, (classified, found, error) in this.items():
            assert found or not classified  # a coasting face keeps its last classification
            assert error <= 3  # where its motion puts it: boxes found are 1-2 px off (the scaled search)
        if index > 2:  # once the turns settled, the three found a frame are the three classified
            assert sum(classified for classified, _, _ in this.values()) == 3


def test_no_face_coasts_between_frames_further_apart_than_coast_max_gap():
    looked, faces = coast_run(1 / (COAST_MAX_GAP + 0.01))
    assert looked == [1] + [6] * 19
    assert all(found for this in faces[1:] for _, found, _ in this.values())
