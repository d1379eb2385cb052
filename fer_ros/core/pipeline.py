"""The perception pipeline: detect faces, crop them, classify all in one batch, track ids."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from fer_ros.core.classifiers import create_classifier
from fer_ros.core.config import PipelineConfig, resolve_detector
from fer_ros.core.detectors import FaceDetector, create_detector, detector_options
from fer_ros.core.finder import FaceFinder
from fer_ros.core.framing import crop_squares, to_gray
from fer_ros.core.quality import assess
from fer_ros.core.smoothing import EmotionSmoother
from fer_ros.core.tracker import IouTracker, Track
from fer_ros.core.types import Box, FaceEmotion, FaceSquare, FrameResult
from fer_ros.core.views import classify_views, views_for

__all__ = ["EmotionPipeline", "PipelineConfig", "PreparedChange", "resolve_detector"]

# Fields whose change needs a new detector, or a new classifier (a model reload); every other field
# changes in place.
DETECTOR_FIELDS = PipelineConfig.fields_reconfiguring("detector")  # from fer_ros.core.schema
CLASSIFIER_FIELDS = PipelineConfig.fields_reconfiguring("classifier")


@dataclass(frozen=True)
class BuiltDetector:
    """A face detector built for a configuration, and how to build the background detection's own."""

    name: str  # the backend ("haar", "yunet")
    choice: str  # one line saying which and why (detector auto)
    detector: FaceDetector
    make: Callable[[], FaceDetector]


@dataclass(frozen=True)
class PreparedChange:
    """A validated configuration with the parts it needs rebuilt, built (see EmotionPipeline.prepare)."""

    config: PipelineConfig
    changed: set[str]
    detector: BuiltDetector | None  # when rebuilt
    classifier: object | None  # EmotionBackend when rebuilt
    full: bool = False


class EmotionPipeline:
    """Face finder (detect, then track: fer_ros.core.finder), classifier, tracker, quality gate and
    temporal smoothing. ``process`` takes a BGR image and returns a FrameResult, top to bottom: find
    the faces (the finder also decides which are searched and which coast), track them, keep the
    confirmed ones, judge each found one (too blurred or too small: not classified, reported
    "uncertain", fer_ros.core.face_state), choose which to classify (each every ``classify_every``
    frames, ``_choose``), classify them in one batch, and report every confirmed face. Everything
    known about a face lives in its track (fer_ros.core.tracker.Track), which the tracker creates
    and expires.

    Not thread-safe: use one pipeline per thread.
    """

    def __init__(self, config: PipelineConfig | None = None, face_numbers: Iterator[int] | None = None):
        """``face_numbers``: where the numbers of new faces' ids come from (default: a count from 0);
        a caller that builds pipelines anew (a node reloading its model) passes one count to keep its
        ids unique."""
        self._face_numbers = face_numbers if face_numbers is not None else itertools.count()
        self.config = PipelineConfig()  # replaced below; apply() compares against it
        self.classifier = self.finder = self.tracker = self.smoother = None
        self.apply(self.prepare(config or PipelineConfig(), full=True))

    @property
    def detector(self):
        """The face detector, which the finder owns (with its framing and the background detection)."""
        return self.finder.detector

    def prepare(self, config: PipelineConfig, full: bool = False) -> PreparedChange:
        """Validate ``config`` and build the detector and classifier it needs that differ from the
        current ones (all when ``full``). Changes nothing in this pipeline, so it may run on another
        thread while ``process`` runs; raises ConfigError or ModelError with the reason (a model
        file that does not exist, ...), and then nothing is changed."""
        config = replace(config).validate()  # a copy: the caller's object may change later
        changed = {name for name in PipelineConfig.field_names()
                   if getattr(config, name) != getattr(self.config, name)}
        detector = classifier = None
        if full or changed & DETECTOR_FIELDS:
            name, yunet_model, choice = resolve_detector(config.detector, config.yunet_model)
            make = partial(create_detector, name, **detector_options(name, config, yunet_model))
            detector = BuiltDetector(name, choice, make(), make)
        if full or changed & CLASSIFIER_FIELDS:
            classifier = create_classifier(config.classifier_backend, config.model,
                                           num_threads=config.num_threads)
        return PreparedChange(config, changed, detector, classifier, full)

    def apply(self, change: PreparedChange) -> set[str]:
        """Switch to a prepared configuration (cheap: call it between frames, on the thread that
        calls ``process``). Tracking and smoothing settings change in place, keeping every face's
        id and smoothed state; only a rebuilt part starts afresh. Returns the changed field names."""
        c = change.config
        built = change.detector
        if built is not None:
            self.detector_name, self.detector_choice = built.name, built.choice
        if change.classifier is not None:
            self.classifier = change.classifier
        if change.full:
            self.finder = FaceFinder(built.detector, c, built.make)
            self.tracker = IouTracker(c.track_iou_threshold, c.track_max_age, numbers=self._face_numbers)
            self.smoother = EmotionSmoother(c.smoothing_time_constant, c.hysteresis, c.uncertain_below)
            self._credit = 0.0  # classifications owed to the tracked faces (_choose)
        else:
            if built is not None:  # the new detector searches the whole frame next
                self.finder.use_detector(built.detector, built.make)
            self.finder.configure(c)
            self.tracker.iou_threshold, self.tracker.max_age = c.track_iou_threshold, c.track_max_age
            self.smoother.configure(c.smoothing_time_constant, c.hysteresis, c.uncertain_below)
        self.config = c
        return change.changed

    def reconfigure(self, config: PipelineConfig) -> set[str]:
        """``apply(prepare(config))``: rebuild only what ``config`` changes."""
        return self.apply(self.prepare(config))

    def process(self, bgr: np.ndarray, stamp: float | None = None) -> FrameResult:
        """Find and classify the faces in ``bgr``, one frame of a video; ``stamp`` (seconds, the
        image's time) drives the detection schedule, track expiry and smoothing. A face is in the
        result once it was seen in ``confirm_frames`` frames (``FrameResult.unconfirmed`` counts the
        others); ``confirm_frames`` 1 reports every face of a single photo."""
        started = time.perf_counter()
        stamp = started if stamp is None else stamp
        found = self.finder.find(bgr, stamp, self.tracker.live(stamp))
        boxes = found.boxes
        detected = time.perf_counter()
        tracks = self.tracker.take(found, stamp)
        squares = self._track_squares(boxes, tracks, found.full)
        confirmed = [k for k, track in enumerate(tracks) if self._confirmed(track)]
        gray = to_gray(bgr)
        self._assess(gray, boxes, squares, tracks, [k for k in confirmed if k not in found.coasted
                                                    or tracks[k].emotion.quality is None])
        chosen = self._choose(tracks, [k for k in confirmed if k not in found.coasted and tracks[k].emotion.fit],
                              found.frame)
        self._classify(gray, squares, tracks, chosen, stamp, found.frame)
        classified = time.perf_counter()
        faces = []
        for k in confirmed:  # each defined whether classified now, earlier, never, blurred or coasting
            raw, smoothed = tracks[k].emotion.report()
            faces.append(FaceEmotion(boxes[k], raw, tracks[k].track_id, smoothed, tracks[k].emotion.quality,
                                     squares[k], k in found.coasted))
        return FrameResult(faces, bgr.shape[1], bgr.shape[0],
                           {"detection": detected - started, "classification": classified - detected},
                           unconfirmed=len(boxes) - len(confirmed), full_detection=found.full,
                           faults=found.faults)

    def squares(self, boxes: list[Box], full: bool = True, rolls: list[float] | None = None) -> list[FaceSquare]:
        """FER2013's framing of the faces in ``boxes`` (fer_ros.core.framing), found by a whole-frame
        detection (``full``) or by the tracking search, grown by ``face_margin`` and, with
        ``align_faces``, rolled by ``rolls`` (default: as each box's landmarks show, where they do)."""
        framing = self.finder.framing.full if full else self.finder.framing.near
        if not self.config.align_faces:
            rolls = [0.0] * len(boxes)
        elif rolls is None:
            rolls = [framing.roll(box) or 0.0 for box in boxes]
        return [framing.square(box, roll, self.config.face_margin) for box, roll in zip(boxes, rolls)]

    def _track_squares(self, boxes: list[Box], tracks: list[Track], full: bool) -> list[FaceSquare]:
        """:meth:`squares` of this frame's tracked faces: a face whose box shows no roll (the tracking
        search's landmarks show too little of it) keeps the roll its track last read."""
        framing = self.finder.framing.full if full else self.finder.framing.near
        rolls = []
        for box, track in zip(boxes, tracks):
            measured = framing.roll(box)
            if measured is not None:
                track.roll = measured
            rolls.append(track.roll)
        return self.squares(boxes, full, rolls)

    def _confirmed(self, track: Track) -> bool:
        """Whether ``track`` is reported: seen in ``confirm_frames`` frames, or (``confirm_sure_at_once``)
        its detector was sure of it."""
        return track.hits >= self.config.confirm_frames or (self.config.confirm_sure_at_once and track.sure)

    def _assess(self, gray: np.ndarray, boxes: list[Box], squares: list[FaceSquare], tracks: list[Track],
                faces: list[int]) -> None:
        """This frame's quality verdict on ``faces`` (indices into ``tracks``): too small or too
        blurred to classify (fer_ros.core.quality), before any is classified."""
        crops = crop_squares(gray, [squares[k] for k in faces], self.classifier.input_size)
        for k, crop in zip(faces, crops):
            tracks[k].emotion.assessed(assess(crop, boxes[k], self.config.min_face_size, self.config.min_sharpness))

    def _choose(self, tracks: list[Track], candidates: list[int], frame: int) -> set[int]:
        """Which of ``candidates`` (indices into ``tracks``: the confirmed faces found in this frame and
        fit to classify) to classify in frame number ``frame`` (the finder's count): every one that is ``urgent`` (never classified, or not since it
        was blurred), and of the others those last classified ``classify_every`` frames ago or more
        and, spread evenly over the frames, others / classify_every a frame on average, those
        classified longest ago. So each face is classified every ``classify_every`` frames, a single
        one too (six faces at 2: three a frame; one: every other frame), or on the next frame it is
        searched in."""
        every = self.config.classify_every
        states = [track.emotion for track in tracks]
        fresh = {k for k in candidates if states[k].urgent}
        others = sorted((k for k in candidates if k not in fresh), key=lambda k: states[k].frame)
        overdue = sum(frame - states[k].frame >= every for k in others)
        self._credit += len(others) / every  # classifications owed, carried over as fractions
        take = max(int(self._credit + 1e-9), overdue)
        self._credit = max(0.0, self._credit - take)
        return fresh | set(others[:take])

    def _classify(self, gray: np.ndarray, squares: list[FaceSquare], tracks: list[Track], chosen: set[int],
                  stamp: float, frame: int) -> None:
        """Classify the ``chosen`` faces (one batch) and fold each result into its state. A face
        classified for the first time gets two passes (the face and its mirror image, averaged); with
        smoothing on, each later classification one pass on the next view of
        fer_ros.core.views.CYCLE (other framings, mirrored or not), and the smoother averages them
        (its first updates equally, fer_ros.core.smoothing): the smoothed probabilities approach the
        average over the views at the cost of a single pass."""
        picked = sorted(chosen)
        if not picked:
            return
        smoothing = self.config.smoothing_time_constant > 0
        states = [tracks[k].emotion for k in picked]
        scores = classify_views(self.classifier, gray, [squares[k] for k in picked],
                                [views_for(state.passes, smoothing) for state in states])
        for state, raw in zip(states, scores):
            state.classified_as(raw, stamp, frame, self.smoother)

    def close(self) -> None:
        """Stop the background detection thread (``process`` may still be called: a later
        background detection starts a new one)."""
        self.finder.close()

    def detect(self, bgr: np.ndarray) -> list[Box]:
        """Faces in the whole of ``bgr`` (at most ``max_faces``, best first), detected on a copy whose
        longest side is at most ``detection_max_side``; boxes are in pixels of ``bgr``."""
        return self.finder.detect(bgr)
