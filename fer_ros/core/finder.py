"""Where the faces are in each frame of a video: detect, then track.

A full-frame detection is the expensive step (Haar over a 640x480 frame costs tens of ms on one core).
Faces move little from one frame to the next, so :class:`FaceFinder` runs it only

- on the first frame, and after the stamps jumped back (a bag replayed in a loop),
- every ``detection_interval`` seconds while faces are tracked (to find faces that entered), every
  ``steady_detection_interval`` while the scene is steady (the last one found no new face and every
  tracked face is found),
- every ``empty_detection_interval`` seconds while no face is tracked (an empty room),
- when the scene changed: the median grey-level difference of a 32x24 thumbnail from the previous
  frame's is above ``scene_change_threshold``, i.e. most of the picture changed at once (a new
  photo, a cut in a video, the camera turned; faces moving in front of a still background change
  less than half of it, and change it little from one frame to the next),
- when none of the tracked faces is found near its last box (they all moved away or vanished),
  unless a background detection (below) just brought faces,

and on every other frame looks for each tracked face again in a square around its last box (as
the tracker predicts it: moved on by the track's velocity), ``SEARCH`` times its size, scaled so
that the face is about ``roi_face_size`` pixels (the detector's own small scale): cheap, and it
follows the face as it moves. The size searched for is the one the face had
at the last full detection, so a box that comes out a little larger or smaller cannot make the
search drift in scale from frame to frame. A face not found there is looked for once more with the
face at the detector's ``roi_retry_size`` where it has one (YuNet: 80 px, which finds dim and
low-contrast faces that 48 loses, at a higher cost per search). A face not found is a miss; its track
lives on for ``track_max_age`` seconds (fer_ros.core.tracker), and is searched for again meanwhile.
A tracked face the caller marks as coasting (``Tracked.search`` False: fer_ros.core.pipeline searches
each face every ``search_every`` frames) is not searched for: its predicted box stands for it.
Works with any detector of fer_ros.core.detectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import cv2
import numpy as np

from fer_ros.core import schema
from fer_ros.core.config import PipelineConfig
from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.framing import Framing
from fer_ros.core.tracker import Track
from fer_ros.core.types import Box, Fault, Found
from fer_ros.core.whole_frame import BackgroundDetection, DetectionSettings, detect_whole

THUMBNAIL = (32, 24)  # width, height of the scene-change thumbnail
# Measured constants, each described with its range in fer_ros.core.schema.CONSTANTS:
SEARCH = schema.constant("search_span")  # side of the square searched around a known face, in face sizes
ARRIVED_SEARCH = schema.constant("arrived_search_span")  # ... around a face found in an older frame
SIZE_RANGE = (schema.constant("search_size_low"), schema.constant("search_size_high"))  # x its last size
NMS_IOU = schema.constant("nms_iou")  # two searches that find one face: keep the better box
SAME_FACE_IOU = schema.constant("same_face_iou")  # an arrived face is a tracked one (with centres inside)
OVERDUE_WAIT = schema.constant("overdue_wait")  # seconds a frame waits for an overdue background detection
QUICK_SIDE = int(schema.constant("quick_side"))  # pixels: the quick look after a cut or losing every face
COAST_MAX_GAP = schema.constant("coast_max_gap")  # seconds: frames further apart search every face
SLOW_FRAMES_GAP = schema.constant("slow_frames_gap")  # seconds: frames this far apart leave room for a whole look


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


class Tracked(NamedTuple):
    """A tracked face as this frame's search sees it (fer_ros.core.tracker.Track)."""

    box: Box  # where it should be now (moved on by its velocity)
    size: int  # its side at the last full detection: the size it is searched at
    search: bool = True  # False: it coasts, its predicted ``box`` stands for it in this frame


class FaceFinder:
    """Full-frame detection on a schedule, cheap re-detection of each tracked face in between.

    ``find(bgr, stamp, tracked)`` returns the face boxes of this frame (pixels of ``bgr``, best
    first, at most ``max_faces``) and how they were found (:class:`Found`). ``tracked`` are the
    faces tracked so far (:class:`Tracked`: predicted box, side at the last full detection, and
    whether to search for it or let its predicted box stand for it in this frame).
    Settings come from ``config`` (the schema's parameters of the same names).

    With ``detection_thread`` (and ``make_detector``, which builds the background thread's own
    detector), every full detection but that of an empty scene after a pause of
    ``detection_interval`` in the frames runs beside the frames
    (fer_ros.core.whole_frame.BackgroundDetection: one owner for the thread, its detector and its
    jobs), so none delays a frame: the first frame's, the scheduled ones while faces are tracked,
    those of an empty scene, and the one after a scene cut or after every tracked face was lost; the
    first frame and these two also get a quick look on the frame itself (the frame scaled to
    ``QUICK_SIDE``, a third of the time), which finds the larger faces at once, unless the frames
    come slowly enough for a whole-frame detection on the frame (``SLOW_FRAMES_GAP`` apart by their
    stamps: a slide show, a bag of photos at 1 Hz; the first frame cannot know), which then searches
    it whole. The faces a background detection finds that
    are not tracked yet join the frame in which it finishes, looked for where it saw them; one from
    before a cut, stamps jumping back or a change of detector or detection settings is dropped. A
    detection that ran ``detection_interval`` (frames kept the core busy, so its thread got little
    of it) is waited for once, at most ``OVERDUE_WAIT``; one that fails or hangs costs no frame:
    the frames go on with their tracked faces, and ``Found.faults`` says what happened.
    """

    def __init__(self, detector: FaceDetector, config: PipelineConfig | None = None,
                 make_detector: Callable[[], FaceDetector] | None = None):
        self.detector = detector
        self._framing: Framing | None = None  # the detector's, read when first needed (framing)
        self.background = BackgroundDetection(make_detector) if make_detector is not None else None
        self._settings: DetectionSettings | None = None
        self._scene = 0  # which scene (sequence of frames) the detections belong to
        self._frames = 0  # frames found so far: the turns of the faces' searches (coasts)
        self.configure(config or PipelineConfig())
        self.reset()

    @property
    def framing(self) -> Framing:
        """Where FER2013's framing lies in the detector's boxes (fer_ros.core.framing)."""
        if self._framing is None:
            self._framing = self.detector.framing
        return self._framing

    def configure(self, config: PipelineConfig) -> None:
        """Change the settings; what is tracked stays. A background detection in flight is cancelled
        only when the settings it runs with changed (``DetectionSettings``)."""
        self.config = config
        settings = DetectionSettings(config.detection_max_side, config.min_face_size, config.max_faces)
        if self.background is not None and self._settings is not None and settings != self._settings:
            self.background.cancel()
        self._settings = settings

    @property
    def threaded(self) -> bool:
        """Whether full detections run in the background (the first frame's and a cut's beside a quick look)."""
        return self.config.detection_thread and self.background is not None

    def use_detector(self, detector: FaceDetector, make_detector: Callable[[], FaceDetector] | None) -> None:
        """Switch to another detector (a background detection in flight is cancelled); the next
        frame is searched whole."""
        if detector is not self.detector:
            self.detector, self._framing = detector, None
        if make_detector is None:
            self.close()
            self.background = None
        elif self.background is None:
            self.background = BackgroundDetection(make_detector)
        else:
            self.background.use_detector(make_detector)
        self.reset()

    def reset(self) -> None:
        """Forget the schedule: the next frame gets a full detection (one in flight is dropped when it ends)."""
        self._last_full: float | None = None  # stamp of the last full detection started
        self._thumbnail: np.ndarray | None = None
        self._scene += 1
        self._due = False  # a full detection is wanted as soon as the background is free
        self._waited = False  # the frame thread waited for the background detection in flight
        self._previous_stamp: float | None = None
        self._steady = False  # the last full detection found no new face and every tracked face is found
        self._collected = False  # a background detection's boxes were taken this frame
        self.full_detections = self.quick_looks = self.searches = self.discarded = 0
        self.retries = 0  # searches near a face looked at again at the detector's roi_retry_size

    def close(self) -> None:
        """Stop the background thread without waiting for it (``find`` may still be called: a later
        background detection starts a new one)."""
        if self.background is not None:
            self.background.close()

    @property
    def frames(self) -> int:
        """Frames found so far (``Found.frame`` of the last one)."""
        return self._frames

    def find(self, bgr: np.ndarray, stamp: float, tracks: list[Track]) -> Found:
        """The faces in ``bgr`` (the frame at ``stamp``), given the ``tracks`` live now: each searched
        for near where it should be, or coasting (:meth:`coasts`), or the whole frame detected."""
        self._frames += 1
        tracked = [Tracked(t.predicted(stamp), t.size, not self.coasts(t, stamp)) for t in tracks]
        return replace(self._find(bgr, stamp, tracked), frame=self._frames)

    def coasts(self, track: Track, stamp: float) -> bool:
        """Whether ``track`` coasts in the frame at ``stamp`` (its predicted box stands for it,
        unsearched): only a confirmed face that the tracking search found in the last
        ``search_every`` frames, seen ``COAST_MAX_GAP`` ago at most, and not on its turn (the faces'
        turns spread over the frames by their numbers)."""
        every = self.config.search_every
        if (every <= 1 or track.searched is None or track.hits < self.config.confirm_frames
                or stamp - track.last_seen > COAST_MAX_GAP):
            return False
        return self._frames - track.searched < every and (self._frames + track.number) % every != 0

    def _find(self, bgr: np.ndarray, stamp: float, tracked: list[Tracked]) -> Found:
        previous, self._thumbnail = self._thumbnail, thumbnail(bgr)
        cut = previous is not None and scene_change(previous, self._thumbnail) > self.config.scene_change_threshold
        since = None if self._previous_stamp is None else stamp - self._previous_stamp  # the last frame
        self._previous_stamp = stamp
        # frames come slowly enough for a whole-frame detection on the frame (by the stamps alone)
        room = since is not None and since >= SLOW_FRAMES_GAP
        if self._last_full is None or since < 0:  # the first frame, or the stamps jumped back (as the tracker's)
            if self.threaded:  # as a cut: its large faces at once, every face a few frames later
                return self._quick(bgr, stamp, True, [])
            return self._whole(bgr, stamp, cut, [])
        faults: list[Fault] = []
        arrived = self._arrived(stamp, faults)
        since_full = stamp - self._last_full
        if not tracked and since >= self.config.detection_interval:  # nothing tracked after a pause in the frames
            return self._whole(bgr, stamp, cut, faults)
        if not self.threaded:  # every full detection on the frame it is due: the same result frame by frame
            if cut or since_full >= self.config.detection_interval or not tracked:
                return self._whole(bgr, stamp, cut, faults)
        elif cut:  # a new scene: searched whole if there is room, else a quick look and the rest beside
            return self._whole(bgr, stamp, True, faults) if room else self._quick(bgr, stamp, True, faults)
        elif since_full >= (self._interval() if tracked else self.config.empty_detection_interval) or self._due:
            self._start(bgr, stamp)
        self.searches += 1
        searched = [face for face in tracked if face.search]
        coasted = [face.box for face in tracked if not face.search]
        found = [box for box in (self.search(bgr, face.box, face.size) for face in searched) if box is not None]
        collected, self._collected = self._collected, False
        steady = len(found) == len(searched)  # every face searched found; and below: no new face arrived
        if tracked and not found and not coasted and not arrived:  # every face moved away or vanished: look everywhere
            if not self.threaded:
                return self._whole(bgr, stamp, False, faults)
            if room:
                return self._whole(bgr, stamp, False, faults)
            if not self.background.busy:  # else the full detection is on its way
                return self._quick(bgr, stamp, False, faults)
        boxes = suppress(found + coasted)
        sizes, sightings = [0] * len(boxes), [1] * len(boxes)
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
                sightings.append(2)  # in the detection's frame and in this one
                steady = False
        if not steady or collected:  # a face lost or joining: unsteady at once; steady once a detection says so
            self._steady = steady
        max_faces = self.config.max_faces
        predictions = frozenset(k for k, box in enumerate(boxes[:max_faces]) if any(box is c for c in coasted))
        return Found(boxes[:max_faces], full=False, sizes=sizes[:max_faces], sightings=sightings[:max_faces],
                     faults=faults, coasted=predictions)

    def _interval(self) -> float:
        """Seconds between scheduled full detections: ``steady_detection_interval`` in a steady scene."""
        interval = self.config.detection_interval
        return max(interval, self.config.steady_detection_interval) if self._steady else interval

    def _whole(self, bgr: np.ndarray, stamp: float, cut: bool, faults: list[Fault]) -> Found:
        """A full detection on the frame thread (a background detection of an older frame, still in
        flight, is superseded: its boxes are dropped when it ends)."""
        self._scene += 1
        self._last_full, self._due, self._steady = stamp, False, False
        self.full_detections += 1
        boxes = self.detect(bgr)
        return Found(boxes, full=True, scene_cut=cut, sizes=[max(b.width, b.height) for b in boxes], faults=faults)

    def _quick(self, bgr: np.ndarray, stamp: float, cut: bool, faults: list[Fault]) -> Found:
        """A quick look at the whole frame, scaled to QUICK_SIDE, and the full detection of this frame
        in the background (or as soon as the one in flight ends)."""
        if cut:
            self._scene += 1  # what a background detection finds in the old scene no longer applies
        self._due, self._steady = True, False
        self._start(bgr, stamp, supersede=cut)  # a detection of the old scene no longer matters
        self.quick_looks += 1
        boxes = detect_whole(self.detector, bgr, self._settings, QUICK_SIDE)
        return Found(boxes, full=True, scene_cut=cut, sizes=[max(b.width, b.height) for b in boxes], faults=faults)

    def _start(self, bgr: np.ndarray, stamp: float, supersede: bool = False) -> None:
        """Start a full detection of ``bgr`` in the background unless one is in flight (``supersede``:
        it then runs as soon as the one in flight ends)."""
        if self.background.start(bgr, stamp, self._settings, self._scene, supersede):
            self._last_full, self._due, self._waited = stamp, False, False
            self.full_detections += 1

    def _arrived(self, stamp: float, faults: list[Fault]) -> list[Box]:
        """The boxes of a background detection that has ended (once), else nothing. One that has run
        ``detection_interval`` is waited for, once, at most OVERDUE_WAIT. Its error, or its running
        on after that, goes to ``faults``."""
        self._collected = False
        background = self.background
        if background is None or not background.busy:
            return []
        overdue = stamp - self._last_full >= self.config.detection_interval
        wait = OVERDUE_WAIT if overdue and not self._waited else 0.0
        self._waited = self._waited or wait > 0
        outcome = background.collect(wait)
        while outcome is not None and outcome.error is None and self._stale(outcome) and background.busy:
            self.discarded += 1  # superseded: the detection that replaced it may have ended too
            outcome = background.collect(0.0)
        if outcome is None:
            if self._waited:
                faults.append(Fault("detection_overdue", (
                    f"background face detection still running after {background.running_for():.1f} s "
                    f"(detection_interval {self.config.detection_interval:g} s): tracked faces are followed, "
                    "faces entering the view are not found until it ends (a hung or very slow detector?)")))
            return []
        if outcome.error is not None:
            faults.append(Fault("detection_failed", (
                f"background face detection failed: {outcome.error!r}; tracked faces are followed, "
                "faces entering the view are not found while it fails")))
        if self._stale(outcome):
            self.discarded += 1
            return []
        self._collected = outcome.error is None
        return outcome.boxes

    def _stale(self, outcome) -> bool:
        """Whether a background detection's outcome no longer applies: cancelled, or of an older scene."""
        return outcome.cancelled or outcome.tag != self._scene

    def detect(self, bgr: np.ndarray) -> list[Box]:
        """Faces in the whole of ``bgr`` (at most ``max_faces``, best first), detected on a copy whose
        longest side is at most ``detection_max_side``; boxes are in pixels of ``bgr``."""
        return detect_whole(self.detector, bgr, self._settings)

    def search(self, bgr: np.ndarray, last: Box, size: int = 0) -> Box | None:
        """The face near ``last`` in ``bgr``, ``size`` pixels wide (default: the side of ``last``):
        of the faces :meth:`search_all` finds in a square of ``SEARCH`` times ``size`` around it, the
        one overlapping ``last`` most, or None. Where none is found and the detector has a
        ``roi_retry_size``, the same square is searched once more with the face at that size."""
        boxes = [b for b in self.search_all(bgr, last, size) if b.iou(last) > 0]
        if not boxes and self.detector.roi_retry_size:
            self.retries += 1
            boxes = [b for b in self.search_all(bgr, last, size, face_side=self.detector.roi_retry_size)
                     if b.iou(last) > 0]
        return max(boxes, key=last.iou) if boxes else None

    def search_all(self, bgr: np.ndarray, last: Box, size: int = 0, span: float = SEARCH,
                   face_side: int = 0) -> list[Box]:
        """The faces about ``size`` pixels wide (default: the side of ``last``) in a square of ``span``
        times ``size`` around ``last``: ``detector.detect_near`` on it scaled so the face is
        ``face_side`` pixels (default: the detector's ``roi_face_size``); boxes in pixels of ``bgr``."""
        size = size or max(last.width, last.height)
        side = int(round(span * size))
        x0 = last.x + last.width // 2 - side // 2
        y0 = last.y + last.height // 2 - side // 2
        region = _padded_crop(bgr, x0, y0, side)
        target = face_side or self.detector.roi_face_size
        scale = target / size
        out = max(1, int(round(side * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        region = cv2.resize(region, (out, out), interpolation=interpolation)
        low = max(int(round(target * SIZE_RANGE[0])), int(round(self.config.min_face_size * scale)), 8)
        found = self.detector.detect_near(region, low, int(round(target * SIZE_RANGE[1])))
        return [b.mapped(side / out, x0, y0) for b in found]  # the ratio the resize really used


def _same_face(now: Box, then: Box) -> bool:
    """Whether ``then``, found a few frames ago by the background detection, is the face at ``now``
    (it may have moved since): they overlap, or the centre of one lies inside the other."""
    def inside(a: Box, b: Box) -> bool:
        cx, cy = a.centre
        return b.x <= cx <= b.x + b.width and b.y <= cy <= b.y + b.height

    return now.iou(then) > SAME_FACE_IOU or inside(now, then) or inside(then, now)


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
