#!/usr/bin/env python3
"""fer_node, or fer_lifecycle_node with FER_TEST_NODE=lifecycle, with one fault injected
(FER_TEST_FAULT), for test_faults.py. It runs the real node in a real process; only the detector
or the classifier it builds is wrapped:

- ``detector_raises``: the background thread's detector raises RuntimeError on every whole frame
  but the first (the first frame's, which brings the faces the tests follow);
- ``detector_hangs``: the background thread's detector hangs on its second whole frame until the file
  FER_TEST_RELEASE exists (at most 30 s), then works;
- ``classifier_raises_once``: the classifier raises RuntimeError on its 10th call, then works.

Each prints ``fault injected: ...`` when it strikes (and ``fault injected: hang over`` when the hang
ends), so the test knows when.
"""

import os
import threading
import time
from pathlib import Path

from fer_ros.core import pipeline
from fer_ros.core.whole_frame import THREAD_NAME

FAULT = os.environ["FER_TEST_FAULT"]
HANG_LIMIT = 30.0  # seconds
CLASSIFIER_CALL = 10  # the classifier call that raises


def say(text: str) -> None:
    print(f"fault injected: {text}", flush=True)


class FaultyDetector:
    """The real detector, but whole frames searched in the background thread strike."""

    def __init__(self, inner):
        self._inner = inner
        self._struck = False
        self._whole_frames = 0  # searched in the background thread

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def detect(self, bgr, min_face_size=32, max_face_size=0):
        if threading.current_thread().name == THREAD_NAME:
            self._whole_frames += 1
        if self._whole_frames > 1 and threading.current_thread().name == THREAD_NAME:
            if FAULT == "detector_raises":
                if not self._struck:
                    say("detector raises")
                self._struck = True
                raise RuntimeError("injected detector fault")
            if FAULT == "detector_hangs" and not self._struck:
                self._struck = True
                say("detector hangs")
                release, deadline = Path(os.environ["FER_TEST_RELEASE"]), time.monotonic() + HANG_LIMIT
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                say("hang over")
        return self._inner.detect(bgr, min_face_size, max_face_size)


class FaultyClassifier:
    """The real classifier, but its CLASSIFIER_CALL-th call raises."""

    def __init__(self, inner):
        self._inner = inner
        self._calls = 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _strike(self):
        self._calls += 1
        if self._calls == CLASSIFIER_CALL:
            say("classifier raises")
            raise RuntimeError("injected classifier fault")

    def predict(self, faces):
        self._strike()
        return self._inner.predict(faces)

    def predict_single(self, faces):
        self._strike()
        return self._inner.predict_single(faces)


if FAULT.startswith("detector"):
    real_detector = pipeline.create_detector
    pipeline.create_detector = lambda *args, **kwargs: FaultyDetector(real_detector(*args, **kwargs))
elif FAULT == "classifier_raises_once":
    real_classifier = pipeline.create_classifier
    pipeline.create_classifier = lambda *args, **kwargs: FaultyClassifier(real_classifier(*args, **kwargs))
else:
    raise SystemExit(f"unknown FER_TEST_FAULT {FAULT!r}")

if os.environ.get("FER_TEST_NODE") == "lifecycle":
    from fer_ros.node.lifecycle_node import main
else:
    from fer_ros.node.fer_node import main

main()
