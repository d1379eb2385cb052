"""Compare expectations with what the node published, frame by frame, and report the differences."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from fer_ros.core.types import Box
from fer_ros.tools.regression.bag import bag_frames, choose_topic
from fer_ros.tools.regression.expectations import expected_path, load_yaml, write_yaml
from fer_ros.tools.regression.replay import DEFAULT_FPS, missing_note, replay

DEFAULT_IOU = 0.5
MATCH_MIN_IOU = 0.1  # below this a face is reported missing (and the other extra), not as a moved box
KINDS = {  # kind -> (singular, plural) for the summary
    "frame": ("frame missing", "frames missing"), "missing": ("face missing", "faces missing"),
    "extra": ("extra face", "extra faces"), "box": ("box below IoU", "boxes below IoU"),
    "switch": ("id switch", "id switches"), "reused": ("id reused", "ids reused"),
    "label": ("label mismatch", "label mismatches"), "unexpected": ("unexpected frame", "unexpected frames"),
}


def iou(a: list[int], b: list[int]) -> float:
    """Intersection over union of two ``[x, y, width, height]`` boxes (``Box.iou`` of the core)."""
    return Box(*a).iou(Box(*b))


@dataclass
class Report:
    """The differences found, as ``(kind, text)`` in KINDS, and what was checked."""

    differences: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    frames: int = 0
    faces: int = 0
    tracks: int = 0
    labels: int = 0
    iou_tolerance: float = DEFAULT_IOU

    @property
    def passed(self) -> bool:
        return not self.differences

    def count(self, kind: str) -> int:
        return sum(k == kind for k, _ in self.differences)

    def summary(self) -> str:
        if self.passed:
            return (f"PASS: {self.frames} frames, {self.faces} faces, {self.tracks} tracks, {self.labels} labels "
                    f"as expected (box IoU >= {self.iou_tolerance:g})")
        parts = []
        for kind, (one, many) in KINDS.items():
            n = self.count(kind)
            if n:
                parts.append(f"{n} {one if n == 1 else many}" + (f" {self.iou_tolerance:g}" if kind == "box" else ""))
        return f"FAIL: {len(self.differences)} difference(s) in {self.frames} frames: " + ", ".join(parts)


def compare(expected: dict, observed: list[dict], iou_tolerance: float = DEFAULT_IOU) -> Report:
    """Compare expectations (``frames`` of a blessed file) with observed /emotion frames (by stamp)."""
    report = Report(iou_tolerance=iou_tolerance)
    by_stamp: dict[str, list[dict]] = {}
    for frame in observed:
        by_stamp.setdefault(str(frame["stamp"]), []).append(frame)
    track_ids: dict[str, str] = {}  # track key -> node id it had last
    id_tracks: dict[str, str] = {}  # node id -> track key that first had it
    min_match = min(MATCH_MIN_IOU, iou_tolerance)
    for index, frame in enumerate(expected["frames"]):
        report.frames += 1
        stamp = str(frame["stamp"])
        where = f"frame {index} ({stamp}{', ' + frame['source'] if frame.get('source') else ''})"
        faces = frame.get("faces") or []
        report.faces += len(faces)
        report.labels += sum("label" in face for face in faces)

        def diff(kind, text):
            report.differences.append((kind, f"{where}: {text}"))

        seen = by_stamp.get(stamp)
        if not seen:
            diff("frame", f"no /emotion message (expected {len(faces)} face(s))")
            continue
        actual = seen.pop(0)["faces"]
        pairs = sorted(((iou(e["box"], a["box"]), i, j) for i, e in enumerate(faces) for j, a in enumerate(actual)),
                       reverse=True)
        match: dict[int, int] = {}
        for overlap, i, j in pairs:
            if overlap >= min_match and i not in match and j not in match.values():
                match[i] = j
        for i, want in enumerate(faces):
            extras = "".join(f" {k} {want[k]}" for k in ("track", "label") if k in want)
            if i not in match:
                diff("missing", f"face missing: expected box {list(want['box'])}{extras}")
                continue
            got = actual[match[i]]
            overlap = iou(want["box"], got["box"])
            if overlap < iou_tolerance:
                diff("box", f"box IoU {overlap:.2f} < {iou_tolerance:g}: expected {list(want['box'])}, "
                            f"got {list(got['box'])} ({got['id']})")
            if "label" in want and got["label"] != want["label"]:
                conf = f" {got['confidence']:.2f}" if "confidence" in got else ""
                diff("label", f"label mismatch: expected {want['label']}, got {got['label']}{conf} ({got['id']} at "
                              f"{list(got['box'])})")
            key = want.get("track")
            if key is not None:
                key = str(key)
                previous = track_ids.get(key)
                if previous is not None and previous != got["id"]:
                    diff("switch", f"id switch: track {key} was {previous}, now {got['id']} at {list(got['box'])}")
                track_ids[key] = got["id"]
                owner = id_tracks.setdefault(got["id"], key)
                if owner != key:
                    diff("reused", f"id reused: {got['id']} belongs to track {owner}, now also track {key}")
        for j, got in enumerate(actual):
            if j not in match.values():
                diff("extra", f"extra face: {got['id']} {got['label']} at {list(got['box'])}")
    report.tracks = len({str(face["track"]) for frame in expected["frames"] for face in frame.get("faces") or []
                         if "track" in face})
    for stamp, left in by_stamp.items():
        for _ in left:
            report.differences.append(("unexpected", f"stamp {stamp}: /emotion message for a frame not in the "
                                                     f"expectations"))
    return report


def run_regression(bag: str | Path, expected: Path | None = None, topic: str | None = None, fps: float | None = None,
                   params: list[str] = (), iou_tolerance: float = DEFAULT_IOU, observed: Path | None = None,
                   save_observed: Path | None = None, out=sys.stdout) -> Report:
    """Replay ``bag`` (or read a saved ``observed`` file), compare and print the report."""
    bag = Path(bag)
    expected = Path(expected) if expected else expected_path(bag)
    wanted = load_yaml(expected, "expectations")
    node_params = [*wanted.get("node_params", []), *params]  # later -p values win in ROS
    fps = fps or float(wanted.get("fps", DEFAULT_FPS))
    print(f"regression: {bag} against {expected}", file=out)
    if observed:
        frames = load_yaml(Path(observed), "observation")["frames"]
        print(f"  observed: {observed} (saved earlier; no replay)", file=out)
    else:
        topic, msgtype = choose_topic(bag, topic or wanted.get("topic"))
        bag_stamps = bag_frames(bag, topic)
        observation = replay(bag, topic, msgtype, fps, node_params, len(bag_stamps),
                             bag_stamps[-1][1] - bag_stamps[0][1])
        frames = observation.frames
        blessed = wanted.get("blessed") or {}
        print(f"  topic {topic}, {observation.sent} frames played at {fps:g} frames/s, node params "
              f"{node_params or 'defaults'}; node: model {observation.model or '?'}, "
              f"detector {observation.detector or '?'}", file=out)
        for name in ("model", "detector"):
            if blessed.get(name) and getattr(observation, name) and blessed[name] != getattr(observation, name):
                print(f"  note: blessed with {name} {blessed[name]}", file=out)
        if len(frames) < len(bag_stamps):
            print(f"  note: {missing_note(observation, len(bag_stamps))}", file=out)
        if save_observed:
            write_yaml(Path(save_observed), {"bag": bag.name, "topic": topic, "model": observation.model,
                                             "detector": observation.detector, "frames": frames})
            print(f"  saved what the node published to {save_observed}", file=out)
    report = compare(wanted, frames, iou_tolerance)
    for _, text in report.differences:
        print(f"  {text}", file=out)
    print(report.summary(), file=out, flush=True)
    return report
