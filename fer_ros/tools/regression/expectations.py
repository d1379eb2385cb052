"""The expectations file ``<BAG>.expected.yaml``: ``bless`` turns a replay into it, ``load_yaml`` reads it."""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml

from fer_ros.tools.regression import RegressionError
from fer_ros.tools.regression.bag import bag_frames, choose_topic
from fer_ros.tools.regression.replay import DEFAULT_FPS, Observation, missing_note, replay

EXPECTED_SUFFIX = ".expected.yaml"
FORMAT = 1
DEFAULT_LABEL_CONFIDENCE = 0.8
HEADER = """\
# fer_ros regression expectations, written by `python -m fer_ros.tools.regression bless`.
# frames: one entry per image of the bag, matched to /emotion messages by header stamp.
#   faces: the boxes the node published ([x, y, width, height] in pixels). Faces with the same
#   `track` key must keep one node id across frames (any id); a face without `track` is not checked
#   for identity. `label` is checked only where present: recorded for clear cases only; delete it,
#   or add one you know, as you like. node_params and fps are used again by `run`.
"""


def expected_path(bag: str | Path) -> Path:
    """``<BAG>.expected.yaml`` beside the bag folder."""
    bag = Path(bag)
    return bag.parent / (bag.name + EXPECTED_SUFFIX)


def expectations_from(observation: Observation, bag: Path, topic: str, fps: float, params: list[str],
                      label_confidence: float | None, sources: list[str] | None = None,
                      clear_labels: dict[str, set[str]] | None = None) -> dict:
    """Turn what the node saw into expectations: node ids become track keys (t1, t2, ... for ids seen
    in at least two frames) and labels are kept only where clear (see the package docstring)."""
    frames_per_id: dict[str, int] = {}
    for frame in observation.frames:
        for face in frame["faces"]:
            frames_per_id[face["id"]] = frames_per_id.get(face["id"], 0) + 1
    keys: dict[str, str] = {}
    frames = []
    for i, seen in enumerate(observation.frames):
        source = sources[i] if sources else None
        faces = []
        for face in seen["faces"]:
            expected = {"box": face["box"]}
            if frames_per_id[face["id"]] > 1:
                expected["track"] = keys.setdefault(face["id"], f"t{len(keys) + 1}")
            clear = (label_confidence is not None and face["label"] != "uncertain" and face["quality"] == "ok"
                     and face["confidence"] >= label_confidence)
            if clear and (clear_labels is None or face["label"] in clear_labels.get(source, ())):
                expected["label"] = face["label"]
            faces.append(expected)
        frame = {"stamp": seen["stamp"]}
        if source:
            frame["source"] = source
        frame["faces"] = faces
        frames.append(frame)
    return {"format": FORMAT, "bag": bag.name, "topic": topic, "fps": fps, "node_params": list(params),
            "blessed": {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                        "model": observation.model, "detector": observation.detector,
                        "label_confidence": label_confidence},
            "frames": frames}


def write_yaml(path: Path, data: dict, header: str = "") -> None:
    """Write an expectations or observation file (``header``: comment lines above the data)."""
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))


def load_yaml(path: Path, what: str) -> dict:
    """Read an expectations or observation file (``what`` names it in errors); it must hold a frames list."""
    if not path.exists():
        raise RegressionError(f"no {what} {path}" + (": bless the bag first" if what == "expectations" else ""))
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data.get("frames"), list):
        raise RegressionError(f"{path} has no frames list; is it a {what} file?")
    return data


def bless(bag: str | Path, topic: str | None = None, fps: float = DEFAULT_FPS, params: list[str] = (),
          label_confidence: float | None = DEFAULT_LABEL_CONFIDENCE, out: Path | None = None,
          sources: list[str] | None = None, clear_labels: dict[str, set[str]] | None = None) -> Path:
    """Replay ``bag`` through fer_node and write what it saw as the expectations; returns their path."""
    bag = Path(bag)
    topic, msgtype = choose_topic(bag, topic)
    frames = bag_frames(bag, topic)
    observation = replay(bag, topic, msgtype, fps, list(params), len(frames), frames[-1][1] - frames[0][1])
    if len(observation.frames) != len(frames):
        raise RegressionError(f"cannot bless: {missing_note(observation, len(frames))}; nothing written")
    if [f["stamp"] for f in observation.frames] != [stamp for stamp, _ in frames]:
        raise RegressionError("cannot bless: the node's answers do not follow the bag's header stamps in order "
                              "(duplicate or reordered stamps?); nothing written")
    data = expectations_from(observation, bag, topic, fps, list(params), label_confidence, sources, clear_labels)
    out = out or expected_path(bag)
    write_yaml(out, data, HEADER)
    return out
