"""The measurements the crop geometry, the views and the roll alignment come from (docs/accuracy.md).

    python -m fer_ros.bench.crop_study STUDY [--faces N] [--detector haar|yunet]

Each study places FER2013 faces (fer_models.placement) into 640x480 frames, finds them as the
pipeline does (a whole-frame detection) and compares crops of the faces found:

- ``before``: the crop before the calibrated square (the box grown by 10%, stretched to 48x48,
  clipped at borders) against the calibrated square, upright faces in the middle and at the left
  and right border;
- ``views``: averaging the classifier over framings of each face (scales, vertical shifts, mirror);
- ``combine``: on the same faces, each framing of a 5x5 grid alone, the mean over larger sets of
  them, other ways to combine the shipped cycle's views (geometric mean, weighted by confidence, the
  most confident one), and the ``default`` and ``fast`` models together;
- ``roll``: faces upright and rolled 20 degrees: not turned, turned by the eye line as measured, by
  the eye line divided by its calibrated gain, by the true roll; and the shipped crop with the rolled
  square shrunk by YuNet's box's median growth with the roll, measured on the same faces;
- ``pitch``: faces flat and tilted back 25 degrees as a plane (a proxy for a lowered head);
- ``sensitivity``: the classifier on the known square of each face, made larger, smaller, moved;
- ``labels``: where YuNet puts its box on Training faces, by label (does FER2013 frame its faces by
  label?).

PublicTest faces unless said otherwise (``labels`` uses Training); nothing here is shipped or tested
for accuracy: it prints tables.
"""

from __future__ import annotations

import argparse
import math
import sys

import cv2
import numpy as np

from fer_models import shared_data
from fer_ros.bench.stats import paired_error
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.framing import crop_squares
from fer_ros.core.types import FaceSquare
from fer_ros.core.views import CYCLE, FIRST, View, classify_views, view_batch

SIZES = (60, 100, 150, 200)


def finder_pipeline(detector: str, yunet_model: str):
    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

    return EmotionPipeline(PipelineConfig(detector=detector, yunet_model=yunet_model if detector == "yunet" else "",
                                          num_threads=1))


def found_faces(pipeline, faces: np.ndarray, placements, photos):
    """(index, frame, box, placement) of each face found by a whole-frame detection."""
    from fer_models.placement import match, place

    for i, (face, where) in enumerate(zip(faces, placements)):
        frame = place(photos[i % len(photos)][1], face, where)
        boxes = pipeline.finder.detect(frame)
        k = match(boxes, where)
        if k is not None:
            yield i, frame, boxes[k], where


def accuracy(classifier, image_views: list, truth: np.ndarray) -> float:
    """Accuracy of ``classifier`` averaged over each face's views: ``image_views`` holds per face
    (image, square, views)."""
    if not image_views:
        return float("nan")
    images, squares, views = zip(*image_views)
    scores = np.concatenate([classify_views(classifier, list(images[i:i + 64]), list(squares[i:i + 64]),
                                            list(views[i:i + 64])) for i in range(0, len(images), 64)])
    return float((scores.argmax(axis=1) == truth).mean())


def classifiers():
    from fer_ros.core.classifiers.onnx import EmotionClassifier

    return {"default": EmotionClassifier("default"), "fast": EmotionClassifier("fast")}


def direct(classifier, faces: np.ndarray, truth: np.ndarray) -> float:
    square = FaceSquare(24.0, 24.0, 48.0)
    return accuracy(classifier, [(face, square, FIRST) for face in faces], truth)


def stretched_crop(bgr: np.ndarray, box, margin: float = 0.1, size: int = 48) -> np.ndarray:
    """The crop before the calibrated square: the box grown by ``margin``, clipped, stretched."""
    height, width = bgr.shape[:2]
    dx, dy = int(round(box.width * margin)), int(round(box.height * margin))
    x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
    x1, y1 = min(width, box.x + box.width + dx), min(height, box.y + box.height + dy)
    grey = cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA if min(grey.shape) > size else cv2.INTER_LINEAR)


def study_before(args, faces, truth, photos):
    from fer_models.placement import Placement

    pipeline = finder_pipeline(args.detector, args.yunet_model)
    model = classifiers()["default"]
    whole = FaceSquare(24.0, 24.0, 48.0)
    rows = {"before": [], "calibrated": [], "direct": []}
    found = []
    places = [Placement(*((320.0, 240.0) if i % 3 == 0 else (SIZES[i % 4] / 2, 240.0) if i % 3 == 1
                          else (640 - SIZES[i % 4] / 2, 240.0)), SIZES[i % 4]) for i in range(len(faces))]
    for i, frame, box, where in found_faces(pipeline, faces, places, photos):
        found.append(i)
        rows["before"].append((stretched_crop(frame, box), whole, FIRST))
        rows["calibrated"].append((frame, pipeline.squares([box])[0], FIRST))
        rows["direct"].append((faces[i], whole, FIRST))
    print(f"{args.detector}: {len(found)} of {len(faces)} found (upright; middle, left, right border)")
    for name, items in rows.items():
        print(f"  {name:<11} {accuracy(model, items, truth[found]):.4f}")


def anywhere(count: int, detector: str) -> list:
    """The ``views`` and ``combine`` studies' placements: 60-200 px anywhere in the frame, for YuNet
    upright or rolled 10 or 20 degrees either way (Haar finds few rolled faces)."""
    from fer_models.placement import Placement

    rng = np.random.default_rng(11)
    places = []
    for _ in range(count):
        side = int(rng.integers(60, 201))
        roll = float(rng.choice([0, 0, -10, 10, -20, 20])) if detector == "yunet" else 0.0
        places.append(Placement(float(rng.integers(side, 640 - side)), float(rng.integers(side, 480 - side)), side, roll))
    return places


def study_views(args, faces, truth, photos):
    pipeline = finder_pipeline(args.detector, args.yunet_model)
    places = anywhere(len(faces), args.detector)
    framings = {"one": [View()], "3 scales": [View(s) for s in (0.92, 1.0, 1.08)],
                "5 framings": [View(), View(0.92), View(1.08), View(dy=-0.04), View(dy=0.04)],
                "9 framings": [View(s, dy) for s in (0.92, 1.0, 1.08) for dy in (-0.04, 0.0, 0.04)]}
    sets = {"face + mirror": FIRST}
    for name, views in framings.items():
        if name != "one":
            sets[f"{name} x mirror"] = tuple(v for view in views for v in (view, View(view.scale, view.dy, True)))
    found, items = [], {name: [] for name in sets}
    for i, frame, box, where in found_faces(pipeline, faces, places, photos):
        found.append(i)
        square = pipeline.squares([box])[0]
        for name, views in sets.items():
            items[name].append((frame, square, views))
    print(f"{args.detector}: {len(found)} of {len(faces)} found (60-200 px anywhere"
          + (", upright or rolled 10 or 20 degrees)" if args.detector == "yunet" else ", upright)"))
    print(f"  the shipped cycle is {len(CYCLE)} views: 5 framings x mirror")
    for model, classifier in classifiers().items():
        print(f"  {model:<8} direct {direct(classifier, faces[found], truth[found]):.4f}  " + "  ".join(
            f"{name}: {accuracy(classifier, rows, truth[found]):.4f}" for name, rows in items.items()))


GRID_SCALES = (0.85, 0.92, 1.0, 1.08, 1.15)  # the combine study's framings: the square x these ...
GRID_SHIFTS = (-0.08, -0.04, 0.0, 0.04, 0.08)  # ... and moved down by these of its side


def view_scores(classifier, items: list, views: list) -> np.ndarray:
    """``(faces, views, 7)``: ``classifier``'s single pass on each of ``views`` of each (image, square)."""
    out = []
    for i in range(0, len(items), 64):
        images, squares = zip(*items[i:i + 64])
        batch, _ = view_batch(list(images), list(squares), [tuple(views)] * len(squares), classifier.input_size)
        out.append(classifier.predict_single(batch).reshape(len(squares), len(views), -1))
    return np.concatenate(out).astype(np.float64)


def combined(scores: np.ndarray, how: str) -> np.ndarray:
    """``(faces, 7)`` from ``scores`` ``(faces, views, 7)``: the views' probabilities combined ``how``."""
    if how == "mean":
        return scores.mean(axis=1)
    if how == "geometric mean":
        return np.log(scores + 1e-6).mean(axis=1)
    if how == "weighted by confidence":  # each view by its top probability
        return (scores * scores.max(axis=2, keepdims=True)).sum(axis=1)
    if how == "most confident view":
        return scores[np.arange(len(scores)), scores.max(axis=2).argmax(axis=1)]
    raise ValueError(how)


def study_combine(args, faces, truth, photos):
    """Which framings to average, how to combine them, and two models: every view of a 5x5 grid of
    framings (x mirror) classified once per face, each set and rule computed from those scores."""
    pipeline = finder_pipeline(args.detector, args.yunet_model)
    grid = [View(s, dy, m) for s in GRID_SCALES for dy in GRID_SHIFTS for m in (False, True)]
    column = {view: k for k, view in enumerate(grid)}

    def pairs(framings) -> list[int]:  # each framing as seen and mirrored
        return [column[View(s, dy, m)] for s, dy in framings for m in (False, True)]

    sets = {"face + mirror": [column[v] for v in FIRST],
            "3 scales": pairs((s, 0.0) for s in (0.92, 1.0, 1.08)),
            "the cycle (shipped)": [column[v] for v in CYCLE],
            "9 framings": pairs((s, dy) for s in (0.92, 1.0, 1.08) for dy in (-0.04, 0.0, 0.04)),
            "all 25": list(range(len(grid)))}
    items, found = [], []
    for i, frame, box, where in found_faces(pipeline, faces, anywhere(len(faces), args.detector), photos):
        found.append(i)
        items.append((frame, pipeline.squares([box])[0]))
    right = truth[found]
    print(f"{args.detector}: {len(found)} of {len(faces)} found (as the views study: 60-200 px anywhere"
          + (", upright or rolled 10 or 20 degrees)" if args.detector == "yunet" else ", upright)"))

    def score(probabilities: np.ndarray, against: np.ndarray | None = None) -> str:
        """Accuracy; with ``against`` (the shipped cycle's), the difference in points +- one paired
        standard error."""
        hits = probabilities.argmax(axis=1) == right
        if against is None:
            return f"{hits.mean():.4f}"
        base = against.argmax(axis=1) == right
        return f"{hits.mean():.4f} ({100 * (hits.mean() - base.mean()):+.2f} +- {100 * paired_error(hits, base):.2f})"

    cycles = {}
    for model, classifier in classifiers().items():
        scores = view_scores(classifier, items, grid)
        cycles[model] = combined(scores[:, sets["the cycle (shipped)"]], "mean")
        print(f"{model}: direct {direct(classifier, faces[found], right):.4f}")
        print("  each framing with its mirror image, mean (rows: side x; columns: moved down by)")
        print("         " + "  ".join(f"{dy:+.2f} " for dy in GRID_SHIFTS))
        for s in GRID_SCALES:
            print(f"    {s:.2f} " + "  ".join(score(combined(scores[:, pairs([(s, dy)])], "mean"))
                                          for dy in GRID_SHIFTS))
        cycle = cycles[model]
        print("  mean over (points against the cycle +- one paired standard error):")
        for name, views in sets.items():
            print(f"    {name:<22} {score(combined(scores[:, views], 'mean'), cycle)}")
        print("  the cycle combined by:")
        for how in ("geometric mean", "weighted by confidence", "most confident view"):
            print(f"    {how:<22} {score(combined(scores[:, sets['the cycle (shipped)']], how), cycle)}")
    print("both models on the cycle (means), points against default's:")
    for w in (0.3, 0.5):
        print(f"    default {1 - w:.1f} + fast {w:.1f}    "
              f"{score((1 - w) * cycles['default'] + w * cycles['fast'], cycles['default'])}")


def study_roll(args, faces, truth, photos):
    from fer_models.placement import Placement

    pipeline = finder_pipeline("yunet", args.yunet_model)
    framing = pipeline.detector.framing.full
    model = classifiers()["default"]
    crops = {}
    for roll_sign in (0, 1):
        places = [Placement(320.0, 240.0, SIZES[i % 4], 20.0 * (1 if i % 2 else -1) * roll_sign)
                  for i in range(len(faces))]
        for i, frame, box, where in found_faces(pipeline, faces, places, photos):
            square = framing.square(box)
            measured = (framing.roll(box) or 0.0) * framing.eye_gain  # the eye line as measured
            turned = {"not turned": 0.0, "eye line as measured": measured,
                      "eye line / gain (shipped)": framing.roll(box) or 0.0, "true roll": where.roll}
            crops[(i, roll_sign)] = {name: (frame, FaceSquare(square.cx, square.cy, square.side, angle), FIRST)
                                     for name, angle in turned.items()}
    pairs = [i for i in range(len(faces)) if (i, 0) in crops and (i, 1) in crops]
    print(f"yunet: {len(pairs)} faces found both upright and rolled 20 degrees either way (middle, 60-200 px)")
    # YuNet's box grows a little with the roll: the shipped crop with the rolled square shrunk by the
    # median growth measured on these very faces (what a calibration of the side against the roll
    # would do, with its value taken from the faces it is tested on)
    shipped = "eye line / gain (shipped)"
    growth = float(np.median([crops[(i, 1)][shipped][1].side / crops[(i, 0)][shipped][1].side for i in pairs]))
    print(f"  the square's side rolled / upright: median {growth:.4f}")
    for i in pairs:
        for roll_sign in (0, 1):
            frame, square, views = crops[(i, roll_sign)][shipped]
            side = square.side / growth if roll_sign else square.side
            crops[(i, roll_sign)]["shipped, side / that growth"] = (
                frame, FaceSquare(square.cx, square.cy, side, square.angle), views)
    for name in crops[(pairs[0], 0)]:
        up = accuracy(model, [crops[(i, 0)][name] for i in pairs], truth[pairs])
        rolled = accuracy(model, [crops[(i, 1)][name] for i in pairs], truth[pairs])
        print(f"  {name:<28} upright {up:.4f}  rolled {rolled:.4f}")


def tilted_back(face: np.ndarray, degrees: float) -> np.ndarray:
    """``face`` turned back by ``degrees`` about its horizontal axis, as a plane seen from a camera
    two face sides away (the top farther): a keystone, a little shorter."""
    n = 192
    big = cv2.resize(face, (n, n), interpolation=cv2.INTER_CUBIC)
    half, focal, theta = n / 2, 2.0 * n, math.radians(degrees)
    corners = []
    for x, y in ((-half, -half), (half, -half), (half, half), (-half, half)):
        depth = -y * math.sin(theta)
        corners.append([focal * x / (focal + depth) + half, focal * y * math.cos(theta) / (focal + depth) + half])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [n, 0], [n, n], [0, n]]), np.float32(corners))
    return cv2.resize(cv2.warpPerspective(big, matrix, (n, n), borderMode=cv2.BORDER_REPLICATE), (48, 48),
                      interpolation=cv2.INTER_AREA)


def study_pitch(args, faces, truth, photos):
    from fer_models.placement import Placement

    pipeline = finder_pipeline(args.detector, args.yunet_model)
    model = classifiers()["default"]
    sets = {"face + mirror": FIRST, "the view cycle": CYCLE,
            "square 4% lower": (View(dy=0.04), View(dy=0.04, mirror=True)),
            "square 4% higher": (View(dy=-0.04), View(dy=-0.04, mirror=True))}
    crops = {}
    for degrees in (0.0, 25.0):
        shown = np.stack([tilted_back(face, degrees) for face in faces]) if degrees else faces
        places = [Placement(320.0, 240.0, (80, 120, 160)[i % 3]) for i in range(len(faces))]
        for i, frame, box, where in found_faces(pipeline, shown, places, photos):
            crops[(i, degrees)] = (frame, pipeline.squares([box])[0])
    pairs = [i for i in range(len(faces)) if (i, 0.0) in crops and (i, 25.0) in crops]
    print(f"{args.detector}: {len(pairs)} faces found both flat and tilted back 25 degrees (middle, 80-160 px)")
    for name, views in sets.items():
        flat = accuracy(model, [(*crops[(i, 0.0)], views) for i in pairs], truth[pairs])
        tilted = accuracy(model, [(*crops[(i, 25.0)], views) for i in pairs], truth[pairs])
        print(f"  {name:<18} flat {flat:.4f}  tilted {tilted:.4f}")


def study_sensitivity(args, faces, truth, photos):
    model = classifiers()["default"]
    embedded = []
    for face in faces:  # 3x, in a blurred copy of itself
        outer = cv2.GaussianBlur(cv2.resize(face, (288, 288), interpolation=cv2.INTER_CUBIC).astype(np.float32),
                                 (0, 0), 18)
        outer[72:216, 72:216] = cv2.resize(face, (144, 144), interpolation=cv2.INTER_LANCZOS4)
        embedded.append(np.clip(outer, 0, 255).astype(np.uint8))

    def score(square: FaceSquare) -> float:
        return accuracy(model, [(image, square, FIRST) for image in embedded], truth)

    print(f"default model, {len(faces)} faces embedded 3x, the known square changed:")
    print(f"  as it is: {score(FaceSquare(144.0, 144.0, 144.0)):.4f}")
    for scale in (0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2):
        print(f"  side x {scale}: {score(FaceSquare(144.0, 144.0, 144 * scale)):.4f}")
    for dx, dy in ((0.05, 0), (0.1, 0), (0, 0.05), (0, 0.1), (0, -0.05), (0, -0.1)):
        print(f"  moved {dx:+.2f} right, {dy:+.2f} down: {score(FaceSquare(144 + 144 * dx, 144 + 144 * dy, 144.0)):.4f}")


def study_labels(args, faces, truth, photos):
    from fer_models.placement import Placement

    pipeline = finder_pipeline("yunet", args.yunet_model)
    rng = np.random.default_rng(21)
    places = [Placement(320.0, 240.0, int(rng.integers(80, 201))) for _ in faces]
    rows = [(truth[i], (box.width + box.height) / 2 / where.side, (box.y + box.height / 2 - where.cy) / where.side)
            for i, frame, box, where in found_faces(pipeline, faces, places, photos)]
    table = np.array(rows)
    print(f"yunet on {len(table)} Training faces found: the box's mean side in FER2013 crop sides, by label")
    for k, name in enumerate(EMOTIONS):
        mine = table[table[:, 0] == k]
        if len(mine):
            print(f"  {name:<9} {len(mine):>5} faces  side {np.median(mine[:, 1]):.3f}  centre {np.median(mine[:, 2]):+.3f} down")


STUDIES = {"before": study_before, "views": study_views, "combine": study_combine, "roll": study_roll,
           "pitch": study_pitch, "sensitivity": study_sensitivity, "labels": study_labels}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.crop_study", description=__doc__.split("\n\n")[0])
    parser.add_argument("study", choices=STUDIES)
    parser.add_argument("--faces", type=int, default=1200, help="faces, from the first (default 1200)")
    parser.add_argument("--detector", choices=("haar", "yunet"), default="haar")
    parser.add_argument("--data", default=str(shared_data.FER_CSV))
    parser.add_argument("--scenes", default=str(shared_data.SCENES))
    parser.add_argument("--yunet-model", default=str(shared_data.YUNET))
    args = parser.parse_args(argv)
    from fer_models.data import load_split
    from fer_models.placement import backgrounds

    cv2.setNumThreads(1)
    split = load_split(args.data, "Training" if args.study == "labels" else "PublicTest")
    chosen = (np.random.default_rng(21).choice(len(split), args.faces, replace=False) if args.study == "labels"
              else np.arange(min(args.faces, len(split))))
    STUDIES[args.study](args, split.images[chosen], split.labels[chosen], backgrounds(args.scenes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
