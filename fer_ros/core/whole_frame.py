"""Whole-frame face detection: on the frame thread (:func:`detect_whole`) or beside the frames
(:class:`BackgroundDetection`), with one owner for the thread, its detector and its jobs.

A whole-frame detection costs tens of milliseconds on one core (Haar over 640x480: 60-110 ms), so
a frame that waited for it would be late. :class:`BackgroundDetection` runs it in a thread of its
own at a lower priority (``BACKGROUND_NICE``), on a copy of the frame, with a detector of its own
that the thread builds itself, and with the settings each job needs handed to it as a snapshot
(:class:`DetectionSettings`): the thread reads nothing that the frame thread writes.

One job runs at a time. Whatever it ends with, boxes or an exception, is collected exactly once
(:meth:`BackgroundDetection.collect`, which never raises: the error comes back in the
:class:`Outcome`), and every wait for it is bounded. A job whose detector or settings changed
meanwhile is cancelled: its boxes are thrown away when it ends, its error is still returned.
Closing never waits for the thread, so a detector that hangs cannot hold up a lifecycle transition.
The thread is a daemon; at the process's exit a detection still running is waited for (at most
``EXIT_WAIT``), so that the process does not tear OpenCV down under it (that aborts the process).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from fer_ros.core.detectors.base import FaceDetector
from fer_ros.core.types import Box

# Niceness of the background detection thread (Linux: per thread). The frame thread gets the core
# whenever it has a frame (weight 1024 against 110: about 90% of a busy core), and the detection
# runs in the time between frames, so it never makes a frame wait; on a core kept busy by frames it
# gets about a tenth, and a detection that is overdue is waited for a while (fer_ros.core.finder).
BACKGROUND_NICE = 10
THREAD_NAME = "fer_face_detection"  # the background thread's name (``ps -L``, py-spy, fault tests)
EXIT_WAIT = 5.0  # seconds the process's exit waits for detections still running, all together


@dataclass(frozen=True)
class DetectionSettings:
    """What a whole-frame detection runs with (the parameters of the same names): frames whose
    longest side exceeds ``max_side`` (0: never) are downscaled for detection; faces smaller than
    ``min_face_size`` source pixels are ignored; at most ``max_faces`` are kept, best first."""

    max_side: int
    min_face_size: int
    max_faces: int


def detect_whole(detector: FaceDetector, bgr: np.ndarray, settings: DetectionSettings,
                 max_side: int = 0) -> list[Box]:
    """Faces in the whole of ``bgr`` (at most ``settings.max_faces``, best first), detected on a copy
    whose longest side is at most ``settings.max_side`` and, when given, ``max_side`` (a quicker,
    coarser look); boxes are in pixels of ``bgr``."""
    longest = max(bgr.shape[:2])
    limit = min(v for v in (settings.max_side, max_side, longest) if v)
    scale = limit / longest
    size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))  # thin frames keep 1 px
    small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
    min_size = max(8, int(round(settings.min_face_size * scale)))
    boxes = detector.detect(small, min_size)[: settings.max_faces]
    return boxes if scale == 1.0 else [b.mapped(1 / scale) for b in boxes]


@dataclass(frozen=True)
class Outcome:
    """How one background detection ended."""

    stamp: float  # the stamp of the frame it searched
    tag: object  # what the caller gave ``start`` (e.g. which scene the frame belongs to)
    boxes: list[Box]  # pixels of that frame; empty when it failed or was cancelled
    error: BaseException | None  # what the detector (or building it) raised, else None
    cancelled: bool  # its detector or settings changed while it ran: its boxes were dropped
    seconds: float  # how long it ran, wall clock


@dataclass(eq=False)
class _Job:
    frame: np.ndarray | None  # a copy of the frame, freed once searched
    stamp: float
    settings: DetectionSettings
    tag: object
    started: float = 0.0  # monotonic, when the thread picked it up (0: not yet)
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    boxes: list[Box] = field(default_factory=list)
    error: BaseException | None = None
    seconds: float = 0.0


class BackgroundDetection:
    """Whole-frame detections in a background thread, one at a time, with a detector that the
    thread builds with ``make_detector`` (detectors keep per-call state, so it never shares the
    frame thread's). Used from one thread (the frame thread): ``start``, ``collect``, ``cancel``,
    ``use_detector``, ``close``. A job started with ``supersede`` while one is in flight cancels that
    one and runs as soon as it ends; outcomes are collected in the order the jobs were started."""

    def __init__(self, make_detector: Callable[[], FaceDetector]):
        _OWNERS.add(self)
        self._running: _Job | None = None  # the job the thread is working on (for the exit's wait)
        self._condition = threading.Condition()
        self._make = make_detector  # read by the thread under the condition's lock
        self._queued: _Job | None = None  # handed to the thread, not yet picked up
        self._closed = False
        self._thread: threading.Thread | None = None
        self._job: _Job | None = None  # started and not yet collected (frame thread only)
        self._next: _Job | None = None  # started to supersede ``_job``: collected after it

    # --- the frame thread's side ---------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A job was started and its outcome not yet collected."""
        return self._job is not None

    def running_for(self) -> float:
        """Seconds since the job in flight started running (0 when there is none)."""
        job = self._job
        return time.monotonic() - job.started if job is not None and job.started else 0.0

    def start(self, bgr: np.ndarray, stamp: float, settings: DetectionSettings, tag: object = None,
              supersede: bool = False) -> bool:
        """Search a copy of ``bgr`` in the background; False (nothing started) while the last job's
        outcome is not collected, unless ``supersede``: then that job is cancelled and this one runs
        as soon as it ends (replacing one that was waiting to, which never ran)."""
        if self._job is not None and not supersede:
            return False
        job = _Job(bgr.copy(), stamp, settings, tag)
        with self._condition:
            self._closed = False
            if self._thread is None:  # none, or the last one left its loop (it clears this under the lock)
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
            self._queued = job
            self._condition.notify_all()
        if self._job is None:
            self._job = job
        else:
            self._job.cancelled = True
            self._next = job
        return True

    def finished(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the jobs in flight to end, without collecting them;
        True when they have ended (or there is none)."""
        deadline = time.monotonic() + timeout
        return all(job.done.wait(max(0.0, deadline - time.monotonic())) for job in (self._job, self._next) if job)

    def collect(self, wait: float = 0.0) -> Outcome | None:
        """The outcome of the oldest job in flight once it has ended (exactly once), waiting up to
        ``wait`` seconds for it; None while it runs."""
        job = self._job
        if job is None or not job.done.wait(wait):
            return None
        self._job, self._next = self._next, None
        return Outcome(job.stamp, job.tag, [] if job.cancelled else job.boxes, job.error, job.cancelled,
                       job.seconds)

    def cancel(self) -> None:
        """The jobs in flight no longer apply (their settings or detector changed): their boxes are
        dropped when they end; their outcomes (and an error) are still collected."""
        for job in (self._job, self._next):
            if job is not None:
                job.cancelled = True

    def use_detector(self, make_detector: Callable[[], FaceDetector]) -> None:
        """Build the next job's detector with ``make_detector`` (in the thread); cancels the jobs in flight."""
        self.cancel()
        with self._condition:
            self._make = make_detector

    def close(self) -> None:
        """Stop the thread without waiting for it: a job still running is cancelled and ends on its
        own (its outcome is not collected). ``start`` later starts a new thread when needed."""
        self.cancel()
        self._job = self._next = None
        with self._condition:
            self._closed = True
            self._queued = None
            self._condition.notify_all()

    # --- the background thread -----------------------------------------------------------------
    def _run(self) -> None:
        _lower_priority()
        detector, built_by = None, None
        while True:
            with self._condition:
                while self._queued is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    # Decided under the lock: a start() from now on starts a new thread. (A thread that
                    # is still alive but past this point would never pick its job up.)
                    self._thread = None
                    return
                job, self._queued = self._queued, None
                make = self._make
                self._running = job
            started = job.started = time.monotonic()
            try:
                if detector is None or built_by is not make:
                    detector, built_by = None, make
                    detector = make()
                if not job.cancelled:
                    job.boxes = detect_whole(detector, job.frame, job.settings)
            except Exception as error:  # returned to the frame thread by collect(), never lost
                job.error = error
            job.seconds, job.frame = time.monotonic() - started, None
            self._running = None
            job.done.set()


_OWNERS: weakref.WeakSet = weakref.WeakSet()  # every BackgroundDetection, for the exit's wait


@atexit.register
def _wait_for_running_detections() -> None:
    """At the process's exit: give the detections still running up to EXIT_WAIT to end."""
    deadline = time.monotonic() + EXIT_WAIT
    for owner in list(_OWNERS):
        job = owner._running
        if job is not None:
            job.done.wait(max(0.0, deadline - time.monotonic()))


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
