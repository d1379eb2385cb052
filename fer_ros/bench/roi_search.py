"""How reliably the search near a known face finds it again, for the Haar cascade's ROI scale factor.

    python -m fer_ros.bench.roi_search [--scenes FOLDER] [--core N]

On every frame between full detections, fer_ros.core.finder looks for each tracked face in a small
square around its last box (HaarDetector.detect_near). Here each face that full-frame detection finds
in the scene photos is searched for from 45 last boxes around it (shifted by up to a tenth of its
size, 0.85-1.15 times as large): a hit is a box overlapping the face by IoU > 0.4. The photos are
also darkened, gamma-compressed and crossed with bright lines (a contrast that histogram
equalisation must survive). One core; milliseconds per search.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np

from fer_models import shared_data
from fer_ros.bench.stats import last_core, pin_to_core

ROI_SCALE_FACTORS = (1.15, 1.1, 1.05)
JITTERS = tuple(itertools.product((-0.1, 0.0, 0.1), (-0.1, 0.0, 0.1), (0.85, 0.92, 1.0, 1.08, 1.15)))
HIT_IOU = 0.4


def _lines(image: np.ndarray) -> np.ndarray:
    out = image * 0.5
    out[:, ::40] = 255
    out[::40, :] = 255
    return out


CONDITIONS = {
    "as shot": lambda image: image,
    "dark (x0.3)": lambda image: image * 0.3,
    "very dark (x0.15)": lambda image: image * 0.15,
    "gamma 2.2": lambda image: 255 * (image / 255) ** 2.2,
    "bright lines": _lines,
}


def jittered(box, dx: float, dy: float, k: float):
    from fer_ros.core.types import Box

    side = max(box.width, box.height)
    width, height = int(round(box.width * k)), int(round(box.height * k))
    cx, cy = box.x + box.width / 2 + dx * side, box.y + box.height / 2 + dy * side
    return Box(int(round(cx - width / 2)), int(round(cy - height / 2)), width, height, 1.0)


def rows(scenes: str, factors=ROI_SCALE_FACTORS) -> list[dict]:
    from fer_ros.bench.frames import scene_photos
    from fer_ros.core.detectors.haar import HaarDetector
    from fer_ros.core.finder import FaceFinder

    photos = [frame.astype(np.float32) for _, frame in scene_photos(scenes)]
    whole = FaceFinder(HaarDetector())  # full-frame detection does not depend on the ROI scale factor
    found = []
    for condition, change in CONDITIONS.items():
        frames = [change(frame).clip(0, 255).astype(np.uint8) for frame in photos]
        faces = [(frame, box) for frame in frames for box in whole.detect(frame)]
        for factor in factors:
            finder = FaceFinder(HaarDetector(roi_scale_factor=factor))
            hits = searches = 0
            elapsed = 0.0
            for frame, box in faces:
                side = max(box.width, box.height)
                for jitter in JITTERS:
                    started = time.perf_counter()
                    result = finder.search(frame, jittered(box, *jitter), side)
                    elapsed += time.perf_counter() - started
                    searches += 1
                    hits += result is not None and result.iou(box) > HIT_IOU
            found.append({"condition": condition, "roi_scale_factor": factor, "faces": len(faces),
                          "hit_rate": hits / searches if searches else None,
                          "ms_per_search": elapsed * 1000 / searches if searches else None})
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.roi_search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default=str(shared_data.SCENES))
    parser.add_argument("--core", type=int, default=last_core(), help="CPU core to run on")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.scenes):
        parser.error(f"{args.scenes}: no such folder of scene photos")
    pin_to_core(args.core)
    import cv2

    cv2.setNumThreads(1)
    print(f"{'condition':<18} {'roi scaleFactor':>15} {'faces':>6} {'found again':>12} {'ms/search':>10}")
    for row in rows(args.scenes):
        rate, ms = ("-", "-") if row["hit_rate"] is None else (f"{row['hit_rate']:.3f}", f"{row['ms_per_search']:.2f}")
        print(f"{row['condition']:<18} {row['roi_scale_factor']:>15} {row['faces']:>6} {rate:>12} {ms:>10}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
