"""Where the pipeline's crop of each FER2013 Training face lands when a detector finds it.

    python -m fer_models.detector_framings --detector haar --out runs/framings_haar.npz
    python -m fer_models.detector_framings --detector yunet --yunet-model face_detection_yunet_2023mar.onnx \
        --out runs/framings_yunet.npz

FER2013 frames its faces in its own way, and not the same way for every label (docs/accuracy.md):
a detector's crop of the same face, calibrated to FER2013's median framing, is a little larger,
smaller or off-centre, and differently so for a fearful face than for a happy one. A model trained
on FER2013's crops alone reads some of the label off that framing and loses it through a detector.

This places every Training face (never PublicTest or PrivateTest) upright into a camera frame
(fer_models.placement: 60-200 pixels, anywhere with room around it, on photos without people),
runs the detector's whole-frame detection as the pipeline does, and records the square the pipeline
would crop it at (fer_ros.core.pipeline's ``squares``: the detector's calibration, its eye-line roll)
relative to the face's own 48x48 square: centre offset ``dx``, ``dy`` and ``side`` in face sides,
``angle`` in degrees; NaN where the face is not found. ``fer_models.train --framings`` then trains on
some faces cut as the detector would cut them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fer_models.calibrate_framing import placement_arguments, progress_line, sha256_file
from fer_models.data import load_split
from fer_models.placement import backgrounds, match, place, random_placement

COLUMNS = ("dx", "dy", "side", "angle")


def framings(pipeline, faces: np.ndarray, photos: list, seed: int, progress=None) -> np.ndarray:
    """``(n, 4)`` COLUMNS of the square ``pipeline`` crops each of ``faces`` at, relative to the
    face's own square (NaN where its whole-frame detection does not find the face)."""
    rng = np.random.default_rng(seed)
    height, width = photos[0][1].shape[:2]
    out = np.full((len(faces), len(COLUMNS)), np.nan, np.float32)
    found = 0
    for i, face in enumerate(faces):
        where = random_placement(rng, width, height)
        boxes = pipeline.detect(place(photos[i % len(photos)][1], face, where))
        k = match(boxes, where)
        if k is not None:
            square = pipeline.squares([boxes[k]])[0]
            out[i] = ((square.cx - where.cx) / where.side, (square.cy - where.cy) / where.side,
                      square.side / where.side, square.angle)
            found += 1
        if progress:
            progress(i + 1, len(faces), found)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.detector_framings",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", required=True, help="detector backend (haar, yunet)")
    placement_arguments(parser)
    parser.add_argument("--limit", type=int, default=0, help="only the first N Training faces (smoke tests)")
    parser.add_argument("--out", required=True, help=".npz to write")
    args = parser.parse_args(argv)

    import cv2

    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

    cv2.setNumThreads(1)  # one core per detector: two runs side by side on a 2-core machine
    pipeline = EmotionPipeline(PipelineConfig(detector=args.detector, yunet_model=args.yunet_model))
    training = load_split(args.data, "Training")
    faces = training.images[:args.limit] if args.limit else training.images
    photos = backgrounds(args.scenes if Path(args.scenes).is_dir() else None)
    result = framings(pipeline, faces, photos, args.seed, progress_line())
    print(file=sys.stderr)
    found = ~np.isnan(result[:, 0])
    np.savez_compressed(args.out, framings=result, columns=np.array(COLUMNS), detector=args.detector,
                        data_sha256=sha256_file(Path(args.data)), seed=args.seed,
                        command=" ".join(["python -m fer_models.detector_framings", *(argv or sys.argv[1:])]))
    print(f"{args.detector}: {found.sum()} of {len(faces)} Training faces found; median side "
          f"{np.median(result[found, 2]):.3f}, 25-75% {np.percentile(result[found, 2], 25):.3f}-"
          f"{np.percentile(result[found, 2], 75):.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
