"""The frames every benchmarked system sees, generated the same way in every process of a run.

- scene photos (``../shared/data/scenes``) letterboxed to 640x480;
- synthetic 30 fps sequences: real face crops (the people of soak's face tiles) moving on a textured
  background, 1, 3 or 6 at a time.

Frames are rendered on demand (a sequence of 150 frames would take 140 MB), deterministically, so
each worker process renders the same pixels; ``digest`` lets the parent check that.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.image import FRAME_SIZE, letterbox

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
    its own pace (as people shifting in front of a 30 fps camera)."""

    faces: int
    frames: int
    size: tuple[int, int] = FRAME_SIZE
    seed: int = 0
    tiles: list[np.ndarray] | None = None
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
            from fer_ros.tools.soak import face_tiles

            self.tiles = face_tiles()
        cols, rows = grid(self.faces, self.size)
        self._cell = (self.size[0] // cols, self.size[1] // rows)
        side = int(min(self._cell) * 0.7)  # room to move inside the cell
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


def digest(frames: Iterable[np.ndarray], into=None):
    """SHA-256 over ``frames`` (shape and pixels); pass ``into`` to keep adding to one hash."""
    sha = into if into is not None else hashlib.sha256()
    for frame in frames:
        sha.update(str(frame.shape).encode())
        sha.update(np.ascontiguousarray(frame).tobytes())
    return sha
