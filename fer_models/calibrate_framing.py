"""Measure where a face detector puts its box on a face whose FER2013 framing is known.

    python -m fer_models.calibrate_framing --detector haar [--data fer2013.csv.gz] [--faces 3000]
    python -m fer_models.calibrate_framing --detector yunet --yunet-model face_detection_yunet_2023mar.onnx
    python -m fer_models.calibrate_framing --detector hri_face_detect --yunet-model face_detection_yunet_2023mar.onnx

FER2013 Training faces (never PublicTest or PrivateTest) are placed upright into 640x480 frames
(fer_models.placement: 60-200 pixels, anywhere with room around them, on photos without people),
the detector runs as the pipeline runs it (a whole-frame detection, then the tracking search near
the box it found, fer_ros.core.finder), and for each box the face's known framing is expressed
relative to it: the offset of its centre in box widths and heights, its side in mean box sides,
and, where the detector gives landmarks, the eye-line angle of the upright face and how much of a
roll the eye line shows (the same face placed once more, rolled: YuNet's landmarks show about
0.4 of it, so its angle is divided by that gain). The medians are written to the
detector's calibration file beside it (fer_ros/core/detectors/NAME_framing.json, read by
fer_ros.core.framing), with the command, the data, the spread and how many faces were found.

``--detector hri_face_detect`` (and ``hri_face_detect_aligned``) calibrates the crops ROS4HRI's face
detector publishes on ``/cropped`` (``/aligned``) instead, for fer_hri_recognizer: each placed face is
found and cut out by that node's rule (fer_models.hri_crops, with our YuNet in its place) and its
framing is measured relative to the whole crop (:func:`calibrate_crops`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from fer_ros.core.framing import eye_line_angle, framing_path
from fer_ros.core.types import Box
from fer_models import hri_crops, shared_data
from fer_models.data import load_split
from fer_models.placement import SIZES, Placement, backgrounds, match, place, random_placement

ROLL = (8.0, 25.0)  # degrees a face is rolled by (either way) to measure a detector's eye-line gain
CROP_ROLL = 25.0  # /aligned crops: faces rolled uniformly within this many degrees either way


def measure(box, where: Placement) -> tuple[float, float, float, float]:
    """(dx, dy, scale, eye angle or nan): where the upright face's framing lies relative to ``box``."""
    cx, cy = box.centre
    angle = eye_line_angle(box.landmarks) if box.landmarks else float("nan")
    return ((where.cx - cx) / box.width, (where.cy - cy) / box.height,
            where.side / ((box.width + box.height) / 2), angle)


def summary(rows: list[tuple], gains: list[float]) -> dict:
    """Medians (the calibration) and the 25th/75th percentiles (its spread) of measured rows, and of
    the eye-angle gains of rolled faces (none: the detector gives no landmarks)."""
    values = np.array(rows, np.float64).reshape(-1, 4)
    columns = {name: values[:, k] for k, name in enumerate(("dx", "dy", "scale", "eye_angle"))}
    columns["eye_gain"] = np.array(gains, np.float64)
    out = {"median": {}, "p25": {}, "p75": {}}
    for name, column in columns.items():
        column = column[~np.isnan(column)]
        for stat, q in (("median", 50), ("p25", 25), ("p75", 75)):
            out[stat][name] = round(float(np.percentile(column, q)), 4) if column.size else None
    return out


def found_boxes(finder, frame: np.ndarray, where: Placement) -> dict:
    """The boxes the pipeline would crop the face at ``where`` from: ``full``, of a whole-frame
    detection, and ``near``, of the tracking search around that one (None where not found)."""
    boxes = finder.detect(frame)
    k = match(boxes, where)
    if k is None:
        return {"full": None, "near": None}
    box = boxes[k]
    return {"full": box, "near": finder.search(frame, box, max(box.width, box.height))}


def calibrate(finder, faces: np.ndarray, photos: list, seed: int, progress=None) -> dict:
    """Place each of ``faces`` upright and measure the full and near boxes found on it; where the
    detector gives landmarks, place each once more rolled by ROLL degrees either way and measure how
    much of the roll its eye line shows (the gain its angle is divided by)."""
    rng = np.random.default_rng(seed)
    height, width = photos[0][1].shape[:2]
    rows = {"full": [], "near": []}
    gains = {"full": [], "near": []}
    for i, face in enumerate(faces):
        where = random_placement(rng, width, height)
        roll = float(rng.uniform(*ROLL)) * rng.choice((-1, 1))
        background = photos[i % len(photos)][1]
        upright = found_boxes(finder, place(background, face, where), where)
        turned = None
        for kind, box in upright.items():
            if box is None:
                continue
            rows[kind].append(measure(box, where))
            if box.landmarks:  # the same face rolled: how much of the roll does its eye line show?
                if turned is None:
                    rolled = dataclasses.replace(where, roll=roll)
                    turned = found_boxes(finder, place(background, face, rolled), rolled)
                if turned[kind] is not None:
                    gains[kind].append((eye_line_angle(turned[kind].landmarks) - rows[kind][-1][3]) / roll)
        if progress:
            progress(i + 1, len(faces), len(rows["full"]))
    return {"faces": len(faces), **{f"found_{kind}": len(rows[kind]) for kind in rows},
            **{kind: summary(rows[kind], gains[kind]) for kind in rows}}


def calibrate_crops(detector, faces: np.ndarray, photos: list, seed: int, source: str, progress=None) -> dict:
    """Place each of ``faces`` (upright for ``cropped``, rolled up to CROP_ROLL degrees either way for
    ``aligned``), find it as hri_face_detect would and measure its framing relative to the whole
    ``source`` crop cut for it (fer_models.hri_crops); for ``aligned``, also how much of the roll
    the crop keeps (its eye line levels part of it)."""
    rng = np.random.default_rng(seed)
    height, width = photos[0][1].shape[:2]
    crop = Box(0, 0, hri_crops.CROP_SIZE, hri_crops.CROP_SIZE)
    rows, kept = [], []
    for i, face in enumerate(faces):
        side = int(rng.integers(SIZES[0], SIZES[1] + 1))
        room = int(side * 0.75)
        roll = float(rng.uniform(-CROP_ROLL, CROP_ROLL)) if source == "aligned" else 0.0
        where = Placement(float(rng.integers(room, width - room)), float(rng.integers(room, height - room)), side,
                          roll)
        boxes = hri_crops.detect(detector, place(photos[i % len(photos)][1], face, where))
        k = match(boxes, where)
        if k is not None:
            square = hri_crops.framing_in_crop(where.square, boxes[k], source, (width, height))
            rows.append(measure(crop, Placement(square.cx, square.cy, square.side)))
            if abs(roll) >= ROLL[0]:
                kept.append(square.angle / roll)
        if progress:
            progress(i + 1, len(faces), len(rows))
    return {"faces": len(faces), "found": len(rows), **summary(rows, []),
            "roll_kept": round(float(np.median(kept)), 4) if kept else None}


def placed_inputs(args) -> tuple[np.ndarray, list]:
    """The Training faces ``args`` asks for (``--faces``, drawn with ``--seed``) and the background photos."""
    training = load_split(args.data, "Training")
    chosen = np.random.default_rng(args.seed).choice(len(training), size=min(args.faces, len(training)), replace=False)
    return training.images[np.sort(chosen)], backgrounds(args.scenes if Path(args.scenes).is_dir() else None)


def progress_line():
    """A ``progress(done, total, found)`` that rewrites one line on stderr every 100 faces."""
    started = time.monotonic()

    def progress(done: int, total: int, found: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"\r{done}/{total} faces placed, {found} found, {time.monotonic() - started:.0f} s",
                  end="", file=sys.stderr, flush=True)

    return progress


def about(args, faces: np.ndarray, photos: list, what: str, rolls: str, yunet: bool) -> dict:
    """What a calibration file says of where it came from: the command, the data, the date."""
    return {
        "what": what,
        "command": f"python -m fer_models.calibrate_framing --detector {args.detector}"
                   + (" --yunet-model face_detection_yunet_2023mar.onnx" if yunet else "")
                   + (f" --faces {args.faces}" if args.faces != 3000 else "") + (f" --seed {args.seed}" if args.seed else ""),
        "data": f"FER2013 Training, {len(faces)} faces drawn with seed {args.seed}, {rolls}, "
                f"{SIZES[0]}-{SIZES[1]} px, on {', '.join(name for name, _ in photos)}",
        "data_sha256": sha256_file(Path(args.data)),
        "date": datetime.date.today().isoformat(),
    }


def write(record: dict, args, shown: tuple[str, ...]) -> int:
    out = Path(args.out) if args.out else framing_path(args.detector)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: record[k] for k in shown}, indent=1))
    print(f"wrote {out}")
    return 0


def main_crops(args) -> int:
    """``main`` for ``--detector hri_face_detect`` and ``hri_face_detect_aligned``."""
    from fer_ros.core.detectors import create_detector

    source = hri_crops.SOURCES[args.detector]
    if not args.yunet_model:
        print("the crops of hri_face_detect are cut from YuNet's boxes: give --yunet-model", file=sys.stderr)
        return 2
    detector = create_detector("yunet", model_path=args.yunet_model)
    faces, photos = placed_inputs(args)
    result = calibrate_crops(detector, faces, photos, args.seed, source, progress_line())
    print(file=sys.stderr)
    if result["median"]["scale"] is None:
        print(f"YuNet found too few faces to calibrate: {result['found']}", file=sys.stderr)
        return 1
    rolls = "upright" if source == "cropped" else f"rolled up to {CROP_ROLL:g} degrees either way"
    what = (f"FER2013's framing relative to the whole {hri_crops.CROP_SIZE}x{hri_crops.CROP_SIZE} "
            f"/{source} crop of ROS4HRI's hri_face_detect taken as a box (fer_ros.core.crops): centre "
            "offset dx, dy (crop sides), side scale (crop sides); medians. The crops are emulated "
            "(fer_models.hri_crops: YuNet 2023mar at image_scale 0.5 in place of libfacedetection's "
            "build, the box fitted into the crop keeping its aspect, on black"
            + (", the region turned by the eye line first" if source == "aligned" else "")
            + "). near: the same (crops have no tracking search).")
    record = {"detector": args.detector, "full": result["median"], "near": result["median"],
              "about": {**about(args, faces, photos, what, rolls, True),
                        "found": {"placed": result["faces"], "full": result["found"]},
                        "spread": {"full": {"p25": result["p25"], "p75": result["p75"]}}}}
    if source == "aligned":
        record["about"]["roll_kept"] = result["roll_kept"]
        record["about"]["roll_kept_means"] = ("median fraction of a face's roll (rolls of 8 degrees or more) "
                                              "still in the aligned crop: YuNet's eye line shows only part of "
                                              "it; not corrected (a crop carries no landmarks)")
    return write(record, args, ("detector", "full"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def placement_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of a tool that places Training faces and runs a detector on them: YuNet's file, the
    data, the background photos and the seed of the placements."""
    parser.add_argument("--yunet-model", default="", help="YuNet ONNX file (detector yunet)")
    parser.add_argument("--data", default=str(shared_data.FER_CSV),
                        help=f"FER2013 csv (default {shared_data.FER_CSV}); Training is used")
    parser.add_argument("--scenes", default=str(shared_data.SCENES), help="folder with the shared background photo")
    parser.add_argument("--seed", type=int, default=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.calibrate_framing",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", required=True,
                        help="detector backend to calibrate (haar, yunet), or the crops of ROS4HRI's face "
                             "detector (hri_face_detect: /cropped, hri_face_detect_aligned: /aligned)")
    placement_arguments(parser)
    parser.add_argument("--faces", type=int, default=3000, help="Training faces placed (default 3000)")
    parser.add_argument("--out", help="file to write (default: the detector's calibration file)")
    args = parser.parse_args(argv)
    if args.detector in hri_crops.SOURCES:
        return main_crops(args)

    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

    pipeline = EmotionPipeline(PipelineConfig(detector=args.detector, yunet_model=args.yunet_model))
    faces, photos = placed_inputs(args)
    result = calibrate(pipeline.finder, faces, photos, args.seed, progress_line())
    print(file=sys.stderr)
    if result["full"]["median"]["scale"] is None or result["near"]["median"]["scale"] is None:
        print(f"the detector found too few faces to calibrate: {result['found_full']} whole-frame, "
              f"{result['found_near']} near", file=sys.stderr)
        return 1
    what = ("FER2013's framing relative to this detector's boxes: centre offset dx (box widths), dy (box "
            "heights), side scale (mean box sides), eye_angle (degrees, of upright faces) and eye_gain (the "
            "fraction of a roll the eye line shows; both null without landmarks); medians. full: boxes of "
            "a whole-frame detection; near: of the tracking search (fer_ros.core.framing).")
    record = {"detector": args.detector, "full": result["full"]["median"], "near": result["near"]["median"],
              "about": {**about(args, faces, photos, what, "upright", args.detector == "yunet"),
                        "found": {"placed": result["faces"], "full": result["found_full"], "near": result["found_near"]},
                        "spread": {kind: {"p25": result[kind]["p25"], "p75": result[kind]["p75"]}
                                   for kind in ("full", "near")}}}
    return write(record, args, ("detector", "full", "near"))


if __name__ == "__main__":
    sys.exit(main())
