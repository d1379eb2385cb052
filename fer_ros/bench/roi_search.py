"""How reliably the search near a known face finds it again: the Haar cascade's ROI scale factor,
YuNet's search scale.

    python -m fer_ros.bench.roi_search [--detector haar|yunet] [--scenes FOLDER] [--placed N] [--core N]

On every frame between full detections, fer_ros.core.finder looks for each tracked face in a small
square around its last box, scaled so the face is the detector's ``roi_face_size`` pixels
(``detect_near``). Here each face that full-frame detection finds in the scene photos is searched
for from 45 last boxes around it (shifted by up to a tenth of its size, 0.85-1.15 times as large):
a hit is a box overlapping the face by IoU > 0.4. The photos are also darkened, gamma-compressed and
crossed with bright lines (a contrast that histogram equalisation must survive); and ``--placed``
FER2013 Training faces are placed upright into frames (60-200 px, fer_models.placement, as the framing
calibration places them): 48x48 faces enlarged, softer than a camera's. Haar: for each ROI scale
factor; YuNet: for each search scale (the face's side in the searched region), and as shipped (48 px,
then 80 on a miss: ``roi_retry_size``). One core; milliseconds per search.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np

from fer_models import shared_data
from fer_ros.bench.stats import last_core, pin_to_core

ROI_SCALE_FACTORS = (1.15, 1.1, 1.05)  # Haar: the search's scaleFactor
YUNET_FACE_SIZES = (48, 64, 80)  # YuNet: the face's side in the searched region, pixels
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


def placed_frames(count: int, data: str, scenes: str, seed: int = 0) -> list[np.ndarray]:
    """``count`` FER2013 Training faces, each placed upright into a frame (fer_models.placement) on the
    photos without people (``scenes``' and scikit-image's)."""
    from fer_models.data import load_split
    from fer_models.placement import backgrounds, place, random_placement

    split = load_split(data, "Training")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(split), count, replace=False)
    photos = backgrounds(scenes)
    height, width = photos[0][1].shape[:2]
    return [place(photos[k % len(photos)][1], split.images[i], random_placement(rng, width, height))
            for k, i in enumerate(chosen)]


def settings(detector: str, yunet_model: str) -> list[tuple[str, object]]:
    """(the setting's value, a detector with it) for each setting compared."""
    if detector == "haar":
        from fer_ros.core.detectors.haar import HaarDetector

        return [(str(factor), HaarDetector(roi_scale_factor=factor)) for factor in ROI_SCALE_FACTORS]
    from fer_ros.core.detectors.yunet import YuNetDetector

    out = []
    for size, retry in [(size, 0) for size in YUNET_FACE_SIZES] + [(YuNetDetector.roi_face_size,
                                                                   YuNetDetector.roi_retry_size)]:
        yunet = YuNetDetector(yunet_model)
        yunet.roi_face_size, yunet.roi_retry_size = size, retry
        out.append((f"{size}, {retry} px" if retry else f"{size} px", yunet))
    return out


def search_rate(finder, faces: list) -> tuple[float | None, float | None]:
    """(fraction found again, ms per search) over ``faces`` (frame, box), each from every JITTERS box."""
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
    return (hits / searches, elapsed * 1000 / searches) if searches else (None, None)


def rows(scenes: str, detector: str = "haar", yunet_model: str = "", placed: int = 0,
         data: str = str(shared_data.FER_CSV)) -> list[dict]:
    from fer_ros.bench.frames import scene_photos
    from fer_ros.core.finder import FaceFinder

    compared = settings(detector, yunet_model)
    whole = FaceFinder(compared[0][1])  # full-frame detection does not depend on the search's setting
    photos = [frame.astype(np.float32) for _, frame in scene_photos(scenes)]
    frames = {condition: [change(frame).clip(0, 255).astype(np.uint8) for frame in photos]
              for condition, change in CONDITIONS.items()}
    if placed:
        frames[f"FER2013 placed ({placed})"] = placed_frames(placed, data, scenes)
    found = []
    for condition, these in frames.items():
        faces = [(frame, box) for frame in these for box in whole.detect(frame)]
        for setting, searcher in compared:
            rate, ms = search_rate(FaceFinder(searcher), faces)
            found.append({"condition": condition, "setting": setting, "faces": len(faces), "hit_rate": rate,
                          "ms_per_search": ms})
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.roi_search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", choices=("haar", "yunet"), default="haar")
    parser.add_argument("--yunet-model", default=str(shared_data.YUNET))
    parser.add_argument("--scenes", default=str(shared_data.SCENES))
    parser.add_argument("--placed", type=int, default=0, help="FER2013 Training faces placed into frames (default 0)")
    parser.add_argument("--data", default=str(shared_data.FER_CSV), help="FER2013 CSV, for --placed")
    parser.add_argument("--core", type=int, default=last_core(), help="CPU core to run on")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.scenes):
        parser.error(f"{args.scenes}: no such folder of scene photos")
    if args.detector == "yunet" and not os.path.isfile(args.yunet_model):
        parser.error(f"{args.yunet_model}: no YuNet model file (--yunet-model)")
    if args.placed and not os.path.isfile(args.data):
        parser.error(f"{args.data}: no FER2013 CSV (--data)")
    pin_to_core(args.core)
    import cv2

    cv2.setNumThreads(1)
    setting = "roi scaleFactor" if args.detector == "haar" else "face in search"
    print(f"{args.detector}: {'condition':<22} {setting:>15} {'faces':>6} {'found again':>12} {'ms/search':>10}")
    for row in rows(args.scenes, args.detector, args.yunet_model, args.placed, args.data):
        rate, ms = ("-", "-") if row["hit_rate"] is None else (f"{row['hit_rate']:.3f}", f"{row['ms_per_search']:.2f}")
        print(f"{'':{len(args.detector) + 2}}{row['condition']:<22} {row['setting']:>15} {row['faces']:>6} "
              f"{rate:>12} {ms:>10}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
