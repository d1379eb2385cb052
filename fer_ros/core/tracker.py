"""Each face's state, from the frame it is first seen until its track expires, and the stable ids
that follow faces across frames (greedy IoU matching with where the previous boxes were heading).

A :class:`Track` is the one home of everything the pipeline knows about a face: where it is and how
it moves (the tracker's), the roll of its eye line (the crop's, fer_ros.core.framing), and its
emotion: classifications, smoothed state and quality (fer_ros.core.face_state, whose rules the
ROS4HRI recogniser follows too). :class:`IouTracker` creates a track when a box matches none and expires
it, with all of that, once: unseen for ``max_age``, at a scene cut where it is not seen, or when
the stamps jump back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from fer_ros.core import schema
from fer_ros.core.face_state import FaceEmotionState
from fer_ros.core.types import Box, Found

# seconds: the shortest time a track's velocity is measured over (fer_ros.core.schema.CONSTANTS)
VELOCITY_BASELINE = schema.constant("velocity_baseline")


@dataclass
class Track:
    """One face's state, from the frame it is first seen until its track expires."""

    track_id: str
    box: Box
    last_seen: float  # seconds, in the caller's clock (image stamps)
    hits: int = 1  # frames in which a box was matched to it
    sure: bool = False  # its detector was sure of it when it was first found (Box.sure)
    size: int = 0  # face side (pixels) at its last full-frame detection: the scale it is searched at
    velocity: tuple[float, float] = (0.0, 0.0)  # of its box, pixels per second
    roll: float = 0.0  # degrees, the face's roll as last read off its landmarks (fer_ros.core.framing)
    number: int = 0  # the tracker's count of faces before this one: spreads the faces' searches over frames
    # the finder's frame count when the tracking search last found it; None since a whole-frame
    # detection found it (fer_ros.core.finder: which faces coast, see search_every)
    searched: int | None = None
    emotion: FaceEmotionState = field(default_factory=FaceEmotionState)  # fer_ros.core.face_state
    anchor: tuple[int, int, float] = field(init=False)  # (x, y, stamp) the velocity is next measured from

    def __post_init__(self):
        self.anchor = (self.box.x, self.box.y, self.last_seen)

    def predicted(self, stamp: float) -> Box:
        """Where its box should be at ``stamp`` if it keeps moving as it did: its last box moved by
        ``velocity`` for the time since it was seen, by at most the box's side."""
        dt = max(0.0, stamp - self.last_seen)
        side = max(self.box.width, self.box.height)
        dx, dy = (max(-side, min(side, v * dt)) for v in self.velocity)
        if not (dx or dy):
            return self.box
        return self.box.mapped(1.0, dx, dy)

    def moved_to(self, box: Box, stamp: float) -> None:
        """Seen at ``box`` at ``stamp``: update its box, and its velocity once ``VELOCITY_BASELINE``
        seconds have passed since the last measure (over so short a time as two frames a few
        milliseconds apart, a pixel of jitter would read as a fast move)."""
        x, y, then = self.anchor
        dt = stamp - then  # never negative: the tracker starts afresh when time goes back
        if dt >= VELOCITY_BASELINE:
            self.velocity = ((box.x - x) / dt, (box.y - y) / dt)
            self.anchor = (box.x, box.y, stamp)
        self.box, self.last_seen = box, stamp
        self.hits += 1


class IouTracker:
    """Matches each new box to the unmatched track whose predicted box (``Track.predicted``: moved
    on as it was moving) it overlaps most (IoU >= ``iou_threshold``).

    Tracks unseen for longer than ``max_age`` seconds expire; so do those not seen in the first
    frame of a new scene (``update(..., scene_cut=True)``); a stamp earlier than the last one (a bag
    replayed in a loop) resets all tracks. At most ``max_tracks`` are kept. Each track counts the
    frames it was seen in (``hits``), which the pipeline holds against ``confirm_frames``.
    """

    def __init__(self, iou_threshold: float = 0.3, max_age: float = 1.0, max_tracks: int = 256,
                 numbers: Iterator[int] | None = None):
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.max_tracks = max_tracks
        self.tracks: list[Track] = []
        # the numbers of new faces' ids: its own count, or the caller's, so that ids stay unique across
        # trackers (a node reloading its model: REP-155 ids are unique for the node's lifetime)
        self._numbers = numbers if numbers is not None else itertools.count()
        self._last_stamp: float | None = None

    def reset(self) -> None:
        self.tracks = []
        self._last_stamp = None

    def live(self, stamp: float) -> list[Track]:
        """The tracks not yet expired at ``stamp`` (all of them after a jump back in time)."""
        if self._last_stamp is not None and stamp < self._last_stamp:
            return []
        return [t for t in self.tracks if stamp - t.last_seen <= self.max_age]

    def get(self, track_id: str) -> Track | None:
        """The track ``track_id`` (None for an unknown id)."""
        return next((t for t in self.tracks if t.track_id == track_id), None)

    def hits(self, track_id: str) -> int:
        """Frames in which ``track_id`` was seen (0 for an unknown id)."""
        track = self.get(track_id)
        return 0 if track is None else track.hits

    def take(self, found: Found, stamp: float) -> list[Track]:
        """:meth:`update` with what the finder found at ``stamp``, then each face's search record:
        none after a whole-frame detection, the finder's frame count for a face its search found (a
        coasting face keeps its own)."""
        tracks = self.update(found.boxes, stamp, found.sizes, found.scene_cut, found.sightings)
        for k, track in enumerate(tracks):
            if found.full:
                track.searched = None
            elif k not in found.coasted:
                track.searched = found.frame
        return tracks

    def update(self, boxes: list[Box], stamp: float, sizes: list[int] | None = None,
               scene_cut: bool = False, sightings: list[int] | None = None) -> list[Track]:
        """Return the track of each box, in the order of ``boxes`` (a new one where a box matches
        none). ``sizes``: per box the face side a whole-frame detection measured, which becomes its
        track's ``size``, or 0 to keep the track's (default: each box's own side). ``scene_cut``: the
        picture changed as a whole, the tracks no box matched end now. ``sightings``: per box the
        frames it was seen in so far, the ``hits`` a new track starts with (default 1)."""
        sizes = [max(b.width, b.height) for b in boxes] if sizes is None else sizes
        sightings = sightings or [1] * len(boxes)
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()
        self._last_stamp = stamp
        self.tracks = self.live(stamp)

        predicted = [track.predicted(stamp) for track in self.tracks]
        pairs = sorted(((box.iou(predicted[t]), b, t) for b, box in enumerate(boxes)
                        for t in range(len(self.tracks))), reverse=True)
        matched: list[Track | None] = [None] * len(boxes)
        used: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < self.iou_threshold:
                break
            if matched[b] is None and t not in used:
                track = matched[b] = self.tracks[t]
                used.add(t)
                track.moved_to(boxes[b], stamp)
                track.size = sizes[b] or track.size
        if scene_cut:  # a face of the old scene not seen in the new one is gone
            self.tracks = [track for t, track in enumerate(self.tracks) if t in used]
        for b, box in enumerate(boxes):
            if matched[b] is None:
                number = next(self._numbers)
                matched[b] = Track(f"face_{number}", box, stamp, hits=sightings[b], sure=box.sure,
                                   size=sizes[b] or max(box.width, box.height), number=number)
                self.tracks.append(matched[b])
        if len(self.tracks) > self.max_tracks:  # keep the most recently seen
            self.tracks = sorted(self.tracks, key=lambda t: t.last_seen)[-self.max_tracks:]
        return matched
