"""BackgroundDetection, the owner of the background face detection: jobs, outcomes, waits, errors."""

from __future__ import annotations

import threading
import time

import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.types import Box
from fer_ros.core.whole_frame import THREAD_NAME, BackgroundDetection, DetectionSettings, detect_whole

SETTINGS = DetectionSettings(max_side=640, min_face_size=32, max_faces=10)
FRAME = np.zeros((480, 640, 3), np.uint8)


class Gate(FaceDetector):
    """Returns one box per call (its x: the call's number) once released, or raises ``error``."""

    name = "gate"

    def __init__(self, error: Exception | None = None):
        self.go, self.entered, self.error, self.calls = threading.Event(), threading.Event(), error, 0

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        self.calls += 1
        self.entered.set()
        assert self.go.wait(10)
        if self.error is not None:
            raise self.error
        return [Box(self.calls, 0, 40, 40)]


def owner(detector: Gate) -> BackgroundDetection:
    """An owner whose detector is ``detector``; ``detector.made_on`` says on which thread it was made."""
    def make():
        detector.made_on = threading.current_thread().name
        return detector

    return BackgroundDetection(make)


def test_an_outcome_is_collected_exactly_once_and_every_wait_is_bounded():
    gate = Gate()
    background = owner(gate)
    assert background.start(FRAME, 1.0, SETTINGS, tag="a")
    assert not background.start(FRAME, 2.0, SETTINGS)  # one at a time
    started = time.monotonic()
    assert background.collect(wait=0.05) is None  # running: a bounded wait, nothing collected
    assert time.monotonic() - started < 5
    gate.go.set()
    outcome = background.collect(wait=10)
    assert outcome.boxes == [Box(1, 0, 40, 40)] and outcome.tag == "a" and outcome.stamp == 1.0
    assert outcome.error is None and not outcome.cancelled
    assert background.collect(wait=0.01) is None and not background.busy  # once
    assert gate.made_on == THREAD_NAME  # the detector was made in the background thread
    background.close()


def test_an_error_comes_back_in_the_outcome_never_raised():
    gate = Gate(RuntimeError("boom"))
    gate.go.set()
    background = owner(gate)
    background.start(FRAME, 1.0, SETTINGS)
    outcome = background.collect(wait=10)
    assert isinstance(outcome.error, RuntimeError) and outcome.boxes == []
    failing = BackgroundDetection(lambda: (_ for _ in ()).throw(OSError("no model")))  # building fails
    failing.start(FRAME, 1.0, SETTINGS)
    assert isinstance(failing.collect(wait=10).error, OSError)
    background.close()
    failing.close()


def test_a_superseding_job_cancels_the_one_in_flight_and_runs_right_after_it():
    gate = Gate()
    background = owner(gate)
    background.start(FRAME, 1.0, SETTINGS, tag="old scene")
    assert gate.entered.wait(10)
    assert background.start(FRAME, 2.0, SETTINGS, tag="new scene", supersede=True)
    gate.go.set()
    first = background.collect(wait=10)
    assert first.tag == "old scene" and first.cancelled and first.boxes == []  # its boxes dropped
    second = background.collect(wait=10)  # ran without another start: no frame needed
    assert second.tag == "new scene" and not second.cancelled and second.boxes == [Box(2, 0, 40, 40)]
    background.close()


def test_close_never_waits_for_a_hung_detector_and_a_later_start_runs():
    gate = Gate()
    background = owner(gate)
    background.start(FRAME, 1.0, SETTINGS)
    assert gate.entered.wait(10)
    started = time.monotonic()
    background.close()  # the detector still hangs
    assert time.monotonic() - started < 1 and not background.busy
    gate.go.set()
    assert background.start(FRAME, 2.0, SETTINGS)
    assert background.collect(wait=10).boxes  # the same thread, or a new one, serves it
    background.close()


def test_detect_whole_scales_down_and_maps_back():
    class Recorder(FaceDetector):
        name = "recorder"

        def detect(self, bgr, min_face_size=32, max_face_size=0):
            self.seen = (bgr.shape[1], bgr.shape[0], min_face_size)
            return [Box(10, 10, 20, 20)]

    recorder = Recorder()
    big = np.zeros((960, 1280, 3), np.uint8)
    assert detect_whole(recorder, big, SETTINGS) == [Box(20, 20, 40, 40)] and recorder.seen == (640, 480, 16)
    assert detect_whole(recorder, big, SETTINGS, max_side=320) == [Box(40, 40, 80, 80)]
    assert recorder.seen == (320, 240, 8)  # the quick look: at most 320 px
    assert detect_whole(recorder, FRAME, DetectionSettings(0, 32, 10)) == [Box(10, 10, 20, 20)]  # 0: never


def test_a_start_right_after_close_runs_while_the_old_thread_is_still_alive():
    """close() while the thread waits for work, then start() before that thread has ended: it must not
    count on the thread that is leaving (issue 38: busy stayed true and no detection ran). The old
    thread is held alive after leaving its loop, which is what a slow exit looks like."""
    left = threading.Event()

    class SlowExit(BackgroundDetection):
        def _run(self):
            super()._run()
            left.set()
            time.sleep(0.5)  # still alive, past the point where it could pick a job up

    gate = Gate()
    gate.go.set()
    background = SlowExit(lambda: gate)
    background.start(FRAME, 1.0, SETTINGS)
    assert background.collect(wait=10).boxes
    old = [t for t in threading.enumerate() if t.name == THREAD_NAME]
    background.close()
    assert left.wait(10) and any(t.is_alive() for t in old)
    assert background.start(FRAME, 2.0, SETTINGS)
    outcome = background.collect(wait=5)
    assert outcome is not None and outcome.boxes, "the job started after close() never ran"
    background.close()
