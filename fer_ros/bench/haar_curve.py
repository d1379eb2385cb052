"""The Haar cascade's speed/recall curve, from which its defaults were chosen.

    python -m fer_ros.bench.haar_curve [--scenes FOLDER] [--core N]

For each (scaleFactor, minNeighbors) of a grid, full-frame detection (the default 640 px, min_face_size
32) on one core: the hand-labelled faces found in the dlib photos (640x480 letterboxed), faces on the
photos with no person, misses on faces that must be found (the packaged photos, as they are and
letterboxed; the regression tool's two moving faces, 16 frames; the bench's 6-face sequence, 40
frames; a face cut in half by the left border), and milliseconds per scene photo. A step too coarse
misses a face at some sizes and positions: the misses column shows it, recall on 9 faces alone
would not.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from fer_models import shared_data
from fer_ros.bench.stats import last_core, pin_to_core

GRID = ((1.1, 5), (1.1, 4), (1.15, 5), (1.15, 4), (1.15, 3), (1.2, 5), (1.2, 4), (1.2, 3), (1.25, 4), (1.25, 3))


def must_find() -> list[tuple[np.ndarray, int]]:
    """(frame, faces in it) that a good setting finds in full."""
    from fer_ros.bench.frames import SyntheticSequence
    from fer_ros.core.image import letterbox
    from fer_ros.tools.photos import demo_photos
    from fer_ros.tools.regression.frames import motion_frames

    photos = demo_photos()
    counts = {"astronaut": 1, "grace_hopper": 1, "astronaut_and_hopper": 2}
    cases = [(photos[k], n) for k, n in counts.items()] + [(letterbox(photos[k]), n) for k, n in counts.items()]
    cases += [(frame, 2) for frame in motion_frames(16)] + [(frame, 6) for frame in SyntheticSequence(6, 40)]
    pair = letterbox(photos["astronaut_and_hopper"])
    cut = np.full_like(pair, 64)
    cut[:, : pair.shape[1] - 60] = pair[:, 60:]  # the left face now half outside the frame
    return cases + [(cut, 2)]


def curve(scenes: str, grid=GRID) -> list[dict]:
    from fer_ros.bench.frames import face_matches, labelled_scenes, no_face_photos, scene_photos
    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

    photos = [frame for _, frame in scene_photos(scenes)] if os.path.isdir(scenes) else []
    labelled, negatives, cases = labelled_scenes(scenes) if photos else [], no_face_photos(scenes or None), must_find()
    rows = []
    for scale_factor, neighbours in grid:
        pipeline = EmotionPipeline(PipelineConfig(detector="haar", haar_scale_factor=scale_factor,
                                                  haar_min_neighbors=neighbours))

        def boxes(frame):
            return [(b.x, b.y, b.width, b.height) for b in pipeline.detect(frame)]

        started = time.perf_counter()
        for frame in photos:
            pipeline.detect(frame)
        elapsed = time.perf_counter() - started
        rows.append({
            "scale_factor": scale_factor, "min_neighbors": neighbours,
            "recall": sum(face_matches(boxes(f), truth) for _, f, truth in labelled),
            "labelled": sum(len(truth) for _, _, truth in labelled),
            "false_faces": sum(len(boxes(f)) for _, f in negatives),
            "misses": sum(max(0, n - len(boxes(f))) for f, n in cases), "must_find": sum(n for _, n in cases),
            "ms_per_scene": elapsed * 1000 / len(photos) if photos else None})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.haar_curve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default=str(shared_data.SCENES))
    parser.add_argument("--core", type=int, default=last_core(), help="CPU core to run on")
    args = parser.parse_args(argv)
    pin_to_core(args.core)
    import cv2

    cv2.setNumThreads(1)
    print(f"{'scaleFactor':>11} {'minNeighbors':>12} {'recall':>7} {'false':>6} {'misses':>9} {'ms/scene':>9}")
    for row in curve(args.scenes):
        ms = "-" if row["ms_per_scene"] is None else f"{row['ms_per_scene']:.0f}"
        print(f"{row['scale_factor']:>11} {row['min_neighbors']:>12} {row['recall']:>3}/{row['labelled']:<3} "
              f"{row['false_faces']:>6} {row['misses']:>4}/{row['must_find']:<4} {ms:>9}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
