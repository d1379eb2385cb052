"""The frames of the made regression bags: photos letterboxed to 640x480 (scenes) and two face tiles
moving across a grey frame (motion), with the labels a person vouches for in them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_ros.core.image import FRAME_SIZE, letterbox
from fer_ros.tools.regression import RegressionError

RECORD_RATE = 5.0  # Hz of the made bags (replayed at --fps)
# Labels a person vouches for in the made bags (source -> labels that may be recorded there): the
# astronaut (Eileen Collins) smiles broadly; the motion bag's moving astronaut tile is the same face.
CLEAR_LABELS = {"astronaut": {"happy"}, "astronaut_and_hopper": {"happy"}, "motion": {"happy"}}
MOTION_TILE = 160  # pixels; each tile holds one face of about 70 px
MOTION_STEP = 20  # pixels per frame: consecutive boxes overlap well above track_iou_threshold


def scene_photos(names: list[str] | None, scenes: Path) -> dict[str, np.ndarray]:
    """The photos called ``names`` (all when None): those that ship with scikit-image/matplotlib
    (``fer_ros.tools.photos.demo_photos``) and the ``*.jpg`` files in ``scenes`` (by file stem)."""
    import cv2

    from fer_ros.tools.photos import demo_photos

    photos = demo_photos()
    files = {p.stem: p for p in sorted(scenes.glob("*.jpg"))} if scenes.is_dir() else {}
    if names is None:
        names = list(photos) + list(files)
    chosen = {}
    for name in names:
        if name in photos:
            chosen[name] = photos[name]
        elif name in files:
            chosen[name] = cv2.imread(str(files[name]))
        else:
            raise RegressionError(f"no photo {name}: packaged photos are {', '.join(photos)}; scene photos in "
                                  f"{scenes}: {', '.join(files) or 'none (folder absent or empty)'}")
    return chosen


def scene_frames(photos: dict[str, np.ndarray], repeats: int) -> tuple[list[np.ndarray], list[str]]:
    """Each photo letterboxed to 640x480 like the demo, ``repeats`` frames in a row; and their sources."""
    frames, sources = [], []
    for name, photo in photos.items():
        frame = letterbox(photo)
        frames += [frame] * repeats
        sources += [name] * repeats
    return frames, sources


def motion_frames(count: int, size=FRAME_SIZE) -> list[np.ndarray]:
    """``count`` frames of two face tiles (``fer_ros.tools.photos.face_tiles``: the astronaut and Grace
    Hopper) moving ``MOTION_STEP`` px per frame in opposite directions, one in each half of the frame."""
    import cv2

    from fer_ros.tools.photos import face_tiles

    width, height = size
    tiles = [cv2.resize(tile, (MOTION_TILE, MOTION_TILE), interpolation=cv2.INTER_AREA) for tile in face_tiles()]
    travel = width - MOTION_TILE
    if MOTION_STEP * (count - 1) > travel:
        raise RegressionError(f"at most {travel // MOTION_STEP + 1} motion frames fit in {width} px")
    frames = []
    for i in range(count):
        canvas = np.full((height, width, 3), 64, np.uint8)
        xs = (MOTION_STEP * i, travel - MOTION_STEP * i)  # left to right, right to left
        for tile, x, y in zip(tiles, xs, (height // 4 - MOTION_TILE // 2, 3 * height // 4 - MOTION_TILE // 2)):
            canvas[y:y + MOTION_TILE, x:x + MOTION_TILE] = tile
        frames.append(canvas)
    return frames
