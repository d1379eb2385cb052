"""The frames every benchmarked system sees, generated the same way in every process of a run.

- scene photos (``../shared/data/scenes``) letterboxed to 640x480, with the hand-labelled face
  boxes of the dlib photos (``dlib_faces_training.xml``) and the photos with no person in them
  (the dogs, scikit-image's cat) for recall and false faces;
- synthetic 30 fps sequences: real face crops (fer_ros.tools.photos.face_tiles) moving on a textured
  background, 1, 3 or 6 at a time (:class:`SyntheticSequence`), and one cut into a new scene every
  1-2 s, each with its own background and 2-6 faces of 36-100 pixels (:class:`CutSequence`, as a
  stage recording cut with shots of the audience).

Frames are rendered on demand (a sequence of 150 frames would take 140 MB), deterministically, so
each worker process renders the same pixels; ``digest`` lets the parent check that.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.image import FRAME_SIZE, letterbox
from fer_ros.core.types import Box

FPS = 30.0
FACE_COUNTS = (1, 3, 6)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def scene_photos(folder: str | Path, size=FRAME_SIZE) -> list[tuple[str, np.ndarray]]:
    """(file name, BGR frame of ``size``) for every photo in ``folder``, sorted by name."""
    photos = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() in PHOTO_SUFFIXES:
            image = cv2.imread(str(path))
            if image is not None:
                photos.append((path.name, letterbox(image, size)))
    return photos


LABELS_FILE = "dlib_faces_training.xml"  # dlib's hand-labelled boxes of the dlib_* photos
NO_FACE_PHOTOS = ("dlib_dogs.jpg",)  # scene photos with no human face; the packaged cat is added


def letterbox_box(box: Box, source: tuple[int, int], size=FRAME_SIZE) -> Box:
    """``box`` in pixels of a ``source`` (width, height) image, moved into its letterboxed copy."""
    scale = min(size[0] / source[0], size[1] / source[1])
    x0 = (size[0] - round(source[0] * scale)) // 2
    y0 = (size[1] - round(source[1] * scale)) // 2
    return Box(int(round(box.x * scale)) + x0, int(round(box.y * scale)) + y0, int(round(box.width * scale)),
               int(round(box.height * scale)))


def labelled_scenes(folder: str | Path, size=FRAME_SIZE) -> list[tuple[str, np.ndarray, list[Box]]]:
    """(file name, letterboxed frame, hand-labelled face boxes in it) of every labelled photo in
    ``folder`` (none when it has no labels file)."""
    folder = Path(folder)
    if not (folder / LABELS_FILE).is_file():
        return []
    labelled = []
    for image in ET.parse(folder / LABELS_FILE).iter("image"):
        path = folder / f"dlib_{image.get('file')}"
        photo = cv2.imread(str(path)) if path.is_file() else None
        if photo is None:
            continue
        source = (photo.shape[1], photo.shape[0])
        boxes = [letterbox_box(Box(int(b.get("left")), int(b.get("top")), int(b.get("width")),
                                   int(b.get("height"))), source, size) for b in image.iter("box")]
        labelled.append((path.name, letterbox(photo, size), boxes))
    return labelled


def no_face_photos(folder: str | Path | None, size=FRAME_SIZE) -> list[tuple[str, np.ndarray]]:
    """Letterboxed photos with no human face: scikit-image's cat and, where ``folder`` has them,
    the NO_FACE_PHOTOS."""
    from fer_ros.tools.photos import demo_photos

    photos = [("cat (scikit-image)", letterbox(demo_photos()["cat"], size))]
    for name in NO_FACE_PHOTOS if folder else ():
        image = cv2.imread(str(Path(folder) / name))
        if image is not None:
            photos.append((name, letterbox(image, size)))
    return photos


def centred_square(box: Box) -> Box:
    """The square of the box's longer side around its centre: dlib labels square boxes, detectors
    return narrower ones (YuNet: cheek to cheek), so matches compare squares."""
    side = max(box.width, box.height)
    return Box(box.x + (box.width - side) // 2, box.y + (box.height - side) // 2, side, side)


def face_matches(found, truth: list[Box], iou: float = 0.5) -> int:
    """How many labelled boxes ``truth`` some box of ``found`` ((x, y, w, h) each) overlaps by at
    least ``iou``, compared as centred squares."""
    squares = [centred_square(Box(*map(int, b[:4]))) for b in found]
    return sum(any(s.iou(t) >= iou for s in squares) for t in truth)


def background(size=FRAME_SIZE, seed: int = 0) -> np.ndarray:
    """A smooth, textured BGR background (low-frequency colour blobs and fine grain), no faces."""
    width, height = size
    rng = np.random.default_rng(seed)
    blobs = cv2.resize(rng.integers(40, 200, (6, 8, 3), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (height, width, 3))
    muted = 0.5 * blobs.astype(np.float32) + 0.5 * blobs.mean(axis=2, keepdims=True)  # a room, not a rainbow
    return np.clip(muted + grain, 0, 255).astype(np.uint8)


def grid(faces: int, size=FRAME_SIZE) -> tuple[int, int]:
    """(columns, rows) of the cells the faces move in, about square cells."""
    width, height = size
    cols = math.ceil(math.sqrt(faces * width / height))
    return cols, math.ceil(faces / cols)


@dataclass
class SyntheticSequence:
    """``frames`` frames of ``faces`` real face crops, each moving smoothly inside its grid cell at
    its own pace (as people shifting in front of a 30 fps camera); ``seed`` picks the background."""

    faces: int
    frames: int
    size: tuple[int, int] = FRAME_SIZE
    seed: int = 0
    tiles: list[np.ndarray] | None = None
    tile_side: int = 0  # pixels; 0: 0.7 of the grid cell's shorter side
    _background: np.ndarray = field(init=False, repr=False)
    _placed: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self):
        if self.faces < 0 or self.frames < 1:
            raise ValueError("a sequence needs faces >= 0 and frames >= 1")
        self._background = background(self.size, self.seed)
        self._placed = []
        if self.faces == 0:
            return
        if self.tiles is None:
            from fer_ros.tools.photos import face_tiles

            self.tiles = face_tiles()
        cols, rows = grid(self.faces, self.size)
        self._cell = (self.size[0] // cols, self.size[1] // rows)
        side = min(self.tile_side or int(min(self._cell) * 0.7), min(self._cell))  # room to move in the cell
        for i in range(self.faces):
            tile = cv2.resize(self.tiles[i % len(self.tiles)], (side, side), interpolation=cv2.INTER_AREA)
            self._placed.append(tile[:, ::-1].copy() if (i // len(self.tiles)) % 2 else tile)  # mirror repeats

    @property
    def name(self) -> str:
        return f"seq_{self.faces}face{'s' if self.faces != 1 else ''}"

    def __len__(self) -> int:
        return self.frames

    def positions(self, index: int) -> list[tuple[int, int]]:
        """Top-left corner of each face tile in frame ``index``."""
        t = index / FPS
        cols, _ = grid(self.faces, self.size) if self.faces else (1, 1)
        corners = []
        for i, tile in enumerate(self._placed):
            row, col = divmod(i, cols)
            side = tile.shape[0]
            slack_x, slack_y = (self._cell[0] - side) / 2, (self._cell[1] - side) / 2
            frequency = 0.25 + 0.07 * i  # Hz, each face its own pace
            dx = slack_x * math.sin(2 * math.pi * frequency * t + i)
            dy = slack_y * math.sin(2 * math.pi * frequency * 0.7 * t + 2 * i)
            corners.append((int(round(col * self._cell[0] + slack_x + dx)),
                            int(round(row * self._cell[1] + slack_y + dy))))
        return corners

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0 <= index < frames) as a fresh BGR array."""
        if not 0 <= index < self.frames:
            raise IndexError(index)
        canvas = self._background.copy()
        for tile, (x, y) in zip(self._placed, self.positions(index)):
            canvas[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
        return canvas

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.frame(i) for i in range(self.frames))


CUT_SCENE_FRAMES = (30, 60)  # frames per scene of a CutSequence: a cut every 1-2 s at 30 fps
CUT_SCENE_FACES = (2, 6)  # faces per scene, inclusive
CUT_TILE_SIDES = (80, 220)  # tile sides in pixels: a face tile is about 2.2 face widths (36-100 px faces)


@dataclass
class CutSequence:
    """``frames`` frames at 30 fps cut into scenes of 1-2 s (CUT_SCENE_FRAMES), each with a
    background of its own and 2-6 faces of their own size, moving inside their grid cells as in
    :class:`SyntheticSequence`: every cut changes most of the picture at once. Deterministic for
    a ``seed``; a scene is set up when one of its frames is first asked for."""

    frames: int
    size: tuple[int, int] = FRAME_SIZE
    seed: int = 0
    tiles: list[np.ndarray] | None = None
    name: str = "seq_cuts"
    _firsts: list[int] = field(init=False, repr=False)  # the first frame of each scene
    _cache: dict[int, SyntheticSequence] = field(init=False, repr=False)

    def __post_init__(self):
        if self.frames < 1:
            raise ValueError("a sequence needs frames >= 1")
        if self.tiles is None:
            from fer_ros.tools.photos import face_tiles

            self.tiles = face_tiles()
        lengths = np.random.default_rng(self.seed).integers(
            CUT_SCENE_FRAMES[0], CUT_SCENE_FRAMES[1] + 1, self.frames // CUT_SCENE_FRAMES[0] + 1)
        firsts = np.concatenate([[0], np.cumsum(lengths)])
        self._firsts = firsts[firsts < self.frames].tolist()
        self._cache = {}

    @property
    def cuts(self) -> list[int]:
        """The frames that start a new scene (the first frame excluded)."""
        return self._firsts[1:]

    def scene(self, number: int) -> SyntheticSequence:
        """Scene ``number`` (0 first): its faces, their size and its background."""
        if number not in self._cache:
            if len(self._cache) >= 4:  # frames are asked for in order: keep the newest scenes only
                self._cache.pop(min(self._cache))
            rng = np.random.default_rng((self.seed, number))
            faces = int(rng.integers(CUT_SCENE_FACES[0], CUT_SCENE_FACES[1] + 1))
            side = int(rng.integers(*CUT_TILE_SIDES))
            order = rng.permutation(len(self.tiles))  # which person comes first in this scene
            self._cache[number] = SyntheticSequence(faces, 1_000_000, self.size, seed=1 + number,
                                                    tiles=[self.tiles[i] for i in order], tile_side=side)
        return self._cache[number]

    def _locate(self, index: int) -> tuple[int, int]:
        """(scene number, frame index within it) of frame ``index``."""
        if not 0 <= index < self.frames:
            raise IndexError(index)
        number = bisect.bisect_right(self._firsts, index) - 1
        return number, index - self._firsts[number]

    def faces_in(self, index: int) -> int:
        return self.scene(self._locate(index)[0]).faces

    def __len__(self) -> int:
        return self.frames

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0 <= index < frames) as a fresh BGR array."""
        number, offset = self._locate(index)
        return self.scene(number).frame(offset)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.frame(i) for i in range(self.frames))


def digest(frames: Iterable[np.ndarray], into=None):
    """SHA-256 over ``frames`` (shape and pixels); pass ``into`` to keep adding to one hash."""
    sha = into if into is not None else hashlib.sha256()
    for frame in frames:
        sha.update(str(frame.shape).encode())
        sha.update(np.ascontiguousarray(frame).tobytes())
    return sha
