"""Where the faces are in each frame of a video: detect, then track.

A full-frame detection is the expensive step (Haar over a 640x480 frame costs tens of ms on one core).
Faces move little from one frame to the next, so :class:`FaceFinder` runs it only

- on the first frame, and again every ``detection_interval`` seconds (to find faces that entered),
- while no face is tracked (an empty room is searched on every frame),
- when the scene changed: the median grey-level difference of a 32x24 thumbnail from the previous
  frame's is above ``scene_change_threshold``, i.e. most of the picture changed at once (a new
  photo, the camera turned; faces moving in front of a still background change less than half of
  it, and change it little from one frame to the next),
- when none of the tracked faces is found near its last box (they all moved away or vanished),
  unless a background detection (below) just brought faces,
- after the stamps jumped back (a bag replayed in a loop),

and on every other frame looks for each tracked face again in a square around its last box (as
the tracker predicts it: moved on by the track's velocity), ``SEARCH`` times its size, scaled so
that the face is about ``roi_face_size`` pixels (the detector's own small scale): cheap, and it
follows the face as it moves. The size searched for is the one the face had
at the last full detection, so a box that comes out a little larger or smaller cannot make the
search drift in scale from frame to frame. A face not found there is a miss; its track
lives on for ``track_max_age`` seconds (fer_ros.core.tracker), and is searched for again meanwhile.
Works with any detector of fer_ros.core.detectors.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import os
import sys
import threading

import cv2
import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.types import Box

THUMBNAIL = (32, 24)  # width, height of the scene-change thumbnail
SEARCH = 1.6  # side of the square searched around a known face, in face sizes
# ... around a face a background detection found in an older frame (it may have moved since)
ARRIVED_SEARCH = 3.0
SIZE_RANGE = (0.83, 1.2)  # sizes searched there, relative to the face's last size
NMS_IOU = 0.5  # two searches that find one face: keep the better box
# Niceness of the background detection thread (Linux: per thread). The frame thread gets the core
# whenever it has a frame (weight 1024 against 110: about 90% of a busy core), and the detection
# runs in the time between frames, so it never makes a frame wait; on a core kept busy by frames it
# gets about a tenth, and a detection that is overdue is waited for (FaceFinder).
BACKGROUND_NICE = 10


def thumbnail(bgr: np.ndarray) -> np.ndarray:
    """A tiny grey copy of ``bgr`` for telling scenes apart (float32, 0-255)."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    return cv2.resize(gray, THUMBNAIL, interpolation=cv2.INTER_AREA).astype(np.float32)


def scene_change(a: np.ndarray, b: np.ndarray) -> float:
    """Median absolute grey-level difference of two thumbnails (0-255): high only when most of the
    picture changed."""
    return float(np.median(np.abs(a - b)))


def suppress(boxes: list[Box], iou: float = NMS_IOU) -> list[Box]:
    """``boxes`` without the ones that overlap a better-scored (or larger) one by more than ``iou``."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: (b.score, b.area), reverse=True):
        if all(box.iou(other) <= iou for other in kept):
            kept.append(box)
    return kept


@dataclass(frozen=True)
class Found:
    """The faces of one frame and how they were found."""

    boxes: list[Box]  # pixels of the frame, best first
    full: bool  # the whole frame was searched for this frame (else near the tracked faces)
    scene_cut: bool  # most of the picture changed from the previous frame: a new scene
    # per box: the face side a whole-frame detection measured (the size its track is searched at
    # from now on), 0 where only the search near its last box found it
    sizes: list[int] = field(default_factory=list)


class FaceFinder:
    """Full-frame detection on a schedule, cheap re-detection of each tracked face in between.

    ``find(bgr, stamp, tracked)`` returns the face boxes of this frame (pixels of ``bgr``, best
    first, at most ``max_faces``) and how they were found (:class:`Found`). ``tracked`` are the
    faces tracked so far, each as (predicted box, side at the last full detection) (fer_ros.core.tracker).

    With ``detection_thread`` (and ``make_detector``, which builds a second detector for it), the
    scheduled full detections while faces are tracked, and those of an empty scene searched less
    than ``detection_interval`` ago, run in a background thread (at BACKGROUND_NICE) on a copy of
    the frame, so they never delay a frame: the frames meanwhile are answered by the searches near the known faces, and
    the faces the detection finds that are not tracked yet join the frame in which it finishes. The
    first frame, a scene cut, stamps jumping back, an empty scene not searched for
    ``detection_interval`` and every tracked face lost are searched whole on the spot. A background
    detection still running ``detection_interval`` after it started (frames kept the core busy, so
    its thread got little of it) is waited for on the frame thread: whatever the load, the whole
    frame is searched at least every two ``detection_interval``.
    """

    def __init__(self, detector: FaceDetector, detection_max_side: int = 640, min_face_size: int = 32,
                 max_faces: int = 10, detection_interval: float = 1.0, scene_change_threshold: float = 20.0,
                 detection_thread: bool = False, make_detector: Callable[[], FaceDetector] | None = None):
        self.detector = detector
        self.make_detector = make_detector
        self._executor: ThreadPoolExecutor | None = None
        self._background: FaceDetector | None = None
        self._pending: Future | None = None
        self.configure(detection_max_side, min_face_size, max_faces, detection_interval, scene_change_threshold,
                       detection_thread)
        self.reset()

    def configure(self, detection_max_side: int, min_face_size: int, max_faces: int, detection_interval: float,
                  scene_change_threshold: float, detection_thread: bool = False) -> None:
        """Change the settings; what is tracked stays."""
        self.detection_max_side = detection_max_side
        self.min_face_size = min_face_size
        self.max_faces = max_faces
        self.detection_interval = detection_interval
        self.scene_change_threshold = scene_change_threshold
        self.detection_thread = detection_thread and self.make_detector is not None
        self._pending = None  # a detection under the old settings is not waited for

    def use_detector(self, detector: FaceDetector, make_detector: Callable[[], FaceDetector] | None) -> None:
        """Switch to another detector; the next frame is searched whole."""
        self.detector, self.make_detector, self._background = detector, make_detector, None
        self.detection_thread = self.detection_thread and make_detector is not None
        self.reset()

    def reset(self) -> None:
        """Forget the schedule: the next frame gets a full detection."""
        self._last_full: float | None = None
        self._thumbnail: np.ndarray | None = None
        self._pending = None
        self.full_detections = 0
        self.searches = 0

    def close(self) -> None:
        """Stop the background thread (a detection still running is not waited for)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._pending = None

    def find(self, bgr: np.ndarray, stamp: float, tracked: list[tuple[Box, int]]) -> Found:
        previous, self._thumbnail = self._thumbnail, thumbnail(bgr)
        cut = previous is not None and scene_change(previous, self._thumbnail) > self.scene_change_threshold
        late = stamp - self._last_full >= self.detection_interval if self._last_full is not None else True
        if cut or self._last_full is None or stamp < self._last_full or (late and not tracked):
            return self._full(bgr, stamp, cut)  # nothing to go on: search the whole frame now
        due = late or not tracked
        if due and not self.detection_thread:
            return self._full(bgr, stamp, False)
        arrived = self._arrived(wait=late)  # overdue: a core kept busy by frames starves the thread
        if due and self._pending is None:  # start the next one in the background
            self._start(bgr, stamp)
        self.searches += 1
        found = [box for box in (self.search(bgr, box, size) for box, size in tracked) if box is not None]
        if tracked and not found and not arrived:  # every known face moved away or vanished: look everywhere
            return self._full(bgr, stamp, False)
        boxes = suppress(found)
        sizes = [0] * len(boxes)
        for box in arrived:  # a face the background detection found: new, or missed by the search
            side = max(box.width, box.height)
            same = [i for i, b in enumerate(boxes) if _same_face(b, box)]
            if not same:  # found in the frame the detection started on: where is it in this one?
                unexplained = [b for b in self.search_all(bgr, box, side, ARRIVED_SEARCH)
                               if not any(_same_face(known, b) for known in boxes)]
                if not unexplained:  # gone (or it was never a face)
                    continue
                box = min(unexplained, key=lambda b: _distance(b, box))
            if same:
                sizes[same[0]] = side  # a fresh measure of its size
            else:
                boxes.append(box)
                sizes.append(side)
        return Found(boxes[: self.max_faces], full=False, scene_cut=False, sizes=sizes[: self.max_faces])

    def _full(self, bgr: np.ndarray, stamp: float, cut: bool) -> Found:
        self._last_full, self._pending = stamp, None
        self.full_detections += 1
        boxes = self.detect(bgr)
        return Found(boxes, full=True, scene_cut=cut, sizes=[max(b.width, b.height) for b in boxes])

    def _start(self, bgr: np.ndarray, stamp: float) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="fer_face_detection",
                                                initializer=_lower_priority)
        if self._background is None:
            self._background = self.make_detector()  # its own: detectors keep per-call state
        self._last_full = stamp
        self.full_detections += 1
        self._pending = self._executor.submit(self._detect_with, self._background, bgr.copy())

    def _arrived(self, wait: bool = False) -> list[Box]:
        """The boxes of a finished background detection (once), else nothing; with ``wait``, of a
        running one once it finishes."""
        if self._pending is None or not (wait or self._pending.done()):
            return []
        pending, self._pending = self._pending, None
        return pending.result()  # a detector error surfaces here, on the frame thread

    def detect(self, bgr: np.ndarray) -> list[Box]:
        """Faces in the whole of ``bgr`` (at most ``max_faces``, best first), detected on a copy whose
        longest side is at most ``detection_max_side``; boxes are in pixels of ``bgr``."""
        return self._detect_with(self.detector, bgr)

    def _detect_with(self, detector: FaceDetector, bgr: np.ndarray) -> list[Box]:
        longest = max(bgr.shape[:2])
        limit = self.detection_max_side
        scale = limit / longest if limit and longest > limit else 1.0
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))  # thin frames keep 1 px
        small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        min_size = max(8, int(round(self.min_face_size * scale)))
        boxes = detector.detect(small, min_size)[: self.max_faces]
        return boxes if scale == 1.0 else [b.mapped(1 / scale) for b in boxes]

    def search(self, bgr: np.ndarray, last: Box, size: int = 0) -> Box | None:
        """The face near ``last`` in ``bgr``, ``size`` pixels wide (default: the side of ``last``):
        of the faces :meth:`search_all` finds in a square of ``SEARCH`` times ``size`` around it, the
        one overlapping ``last`` most, or None."""
        boxes = [b for b in self.search_all(bgr, last, size) if b.iou(last) > 0]
        return max(boxes, key=last.iou) if boxes else None

    def search_all(self, bgr: np.ndarray, last: Box, size: int = 0, span: float = SEARCH) -> list[Box]:
        """The faces about ``size`` pixels wide (default: the side of ``last``) in a square of ``span``
        times ``size`` around ``last``: ``detector.detect_near`` on it scaled so the face is
        ``roi_face_size`` pixels; boxes in pixels of ``bgr``."""
        size = size or max(last.width, last.height)
        side = int(round(span * size))
        x0 = last.x + last.width // 2 - side // 2
        y0 = last.y + last.height // 2 - side // 2
        region = _padded_crop(bgr, x0, y0, side)
        target = self.detector.roi_face_size
        scale = target / size
        out = max(1, int(round(side * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        region = cv2.resize(region, (out, out), interpolation=interpolation)
        low = max(int(round(target * SIZE_RANGE[0])), int(round(self.min_face_size * scale)), 8)
        found = self.detector.detect_near(region, low, int(round(target * SIZE_RANGE[1])))
        return [b.mapped(side / out, x0, y0) for b in found]  # the ratio the resize really used


def _lower_priority() -> None:
    """Make the calling thread yield the core to the frame thread (BACKGROUND_NICE); where threads
    have no priority of their own (not Linux), or it is refused, it keeps the process's."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), BACKGROUND_NICE))
    except OSError:
        pass


def _same_face(now: Box, then: Box) -> bool:
    """Whether ``then``, found a few frames ago by the background detection, is the face at ``now``
    (it may have moved since): they overlap, or the centre of one lies inside the other."""
    def inside(a: Box, b: Box) -> bool:
        cx, cy = a.centre
        return b.x <= cx <= b.x + b.width and b.y <= cy <= b.y + b.height

    return now.iou(then) > 0.2 or inside(now, then) or inside(then, now)


def _distance(a: Box, b: Box) -> float:
    """Between the centres of two boxes, in pixels."""
    (ax, ay), (bx, by) = a.centre, b.centre
    return float(np.hypot(ax - bx, ay - by))


def _padded_crop(bgr: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The ``side`` x ``side`` square of ``bgr`` at (x0, y0); parts outside the image are grey."""
    height, width = bgr.shape[:2]
    out = np.full((side, side) + bgr.shape[2:], 128, bgr.dtype)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(width, x0 + side), min(height, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = bgr[sy0:sy1, sx0:sx1]
    return out
