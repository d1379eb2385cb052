"""Regression bags: replay a rosbag2 through fer_node and compare what it publishes with a blessed baseline.

    python -m fer_ros.tools.regression make OUT [--storage sqlite3 mcap] [--photos NAME ...] [--no-bless]
    python -m fer_ros.tools.regression bless BAG [--topic T] [--fps 2] [--param NAME:=VALUE]
    python -m fer_ros.tools.regression run BAG [--iou 0.5] [--topic T] [--fps F] [--param NAME:=VALUE]

``make`` writes standard rosbag2 folders (sqlite3 and/or mcap) of 640x480 frames: ``scenes_<storage>``
(photos that ship with scikit-image and matplotlib plus the scene photos in ``--scenes``, letterboxed,
each repeated) and ``motion_<storage>`` (two face tiles moving across a grey frame), then blesses each.

``bless`` starts ``fer_node``, plays the bag's image topic into it with fer_ros.tools.player at a
fixed ``--fps`` (reliable QoS, one warm-up frame first: see ``warmup_message``) and writes what the
node saw to ``<BAG>.expected.yaml`` beside the bag: per frame (matched by header stamp) the face
boxes, a ``track`` key for faces the node followed over several frames (they must keep one id), and
a ``label`` only for clear cases (confidence >= ``--label-confidence``, quality ok; in the made bags
only labels a person vouched for in ``CLEAR_LABELS``). Edit the file freely: delete a label or a
track key to stop checking it, add a label you know. A bag with several image topics is replayed
from a temporary copy of the chosen one (the player replays every image topic it finds).

``run`` replays the bag the same way, with the blessed ``--fps`` and node parameters (``--param``
adds or overrides), and reports every difference from the expectations: frames without an /emotion
message, faces missing or extra, boxes below ``--iou`` overlap, id switches of a track, ids reused
by another track, label mismatches. The last line is ``PASS ...`` (exit code 0) or ``FAIL ...``
(exit code 1); exit code 2 means the regression could not be run (no node, no bag, ...).
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from fer_ros.tools.bags import TYPESTORE, read_raw, write_image_bag

NAMESPACE = "/fer_regression"
INPUTS = {"sensor_msgs/msg/Image": ("raw", "image"),
          "sensor_msgs/msg/CompressedImage": ("compressed", "image/compressed")}
# Frames/s of a replay. The node keeps only the newest frame, so a frame is lost whenever it is slower
# than the replay: on this 2-core machine, busy with other jobs, 640x480 frames took up to 0.3 s.
DEFAULT_FPS = 2.0
RECORD_RATE = 5.0  # Hz of the made bags (replayed at --fps)
DEFAULT_IOU = 0.5
MATCH_MIN_IOU = 0.1  # below this a face is reported missing (and the other extra), not as a moved box
DEFAULT_LABEL_CONFIDENCE = 0.8
EXPECTED_SUFFIX = ".expected.yaml"
FORMAT = 1
# Labels a person vouches for in the made bags (source -> labels that may be recorded there): the
# astronaut (Eileen Collins) smiles broadly; the motion bag's moving astronaut tile is the same face.
CLEAR_LABELS = {"astronaut": {"happy"}, "astronaut_and_hopper": {"happy"}, "motion": {"happy"}}
MOTION_TILE = 160  # pixels; each tile holds one face of about 70 px
MOTION_STEP = 20  # pixels per frame: consecutive boxes overlap well above track_iou_threshold
WARMUP_SEC = 2**31 - 1  # header stamp of the warm-up frame: after any real stamp


class RegressionError(Exception):
    """The regression cannot be made or run (missing bag, topic or node); the message says what to do."""


# --- bags ----------------------------------------------------------------------------------------------
def expected_path(bag: str | Path) -> Path:
    """``<BAG>.expected.yaml`` beside the bag folder."""
    bag = Path(bag)
    return bag.parent / (bag.name + EXPECTED_SUFFIX)


def stamp_key(sec: int, nanosec: int) -> str:
    return f"{sec}.{nanosec:09d}"


def image_topics(bag: str | Path) -> dict[str, str]:
    """``{topic: msgtype}`` of the raw and compressed image topics in ``bag``."""
    from rosbags.rosbag2 import Reader

    if not (Path(bag) / "metadata.yaml").exists():
        raise RegressionError(f"{bag} is not a rosbag2 folder (no metadata.yaml)")
    with Reader(Path(bag)) as reader:
        return {c.topic: c.msgtype for c in reader.connections if c.msgtype in INPUTS}


def choose_topic(bag: str | Path, topic: str | None) -> tuple[str, str]:
    """The image topic to replay and its message type: ``topic``, or the bag's only image topic."""
    topics = image_topics(bag)
    if topic:
        if topic not in topics:
            raise RegressionError(f"{bag} has no image topic {topic}; its image topics: {sorted(topics) or 'none'}")
        return topic, topics[topic]
    if len(topics) != 1:
        raise RegressionError(f"{bag} has {len(topics)} image topics ({', '.join(sorted(topics)) or 'none'}); "
                              f"pick one with --topic")
    return next(iter(topics.items()))


def bag_frames(bag: str | Path, topic: str) -> list[tuple[str, int]]:
    """``(header stamp key, recording timestamp in ns)`` of every message on ``topic``, in recording order."""
    frames = []
    for _, msgtype, timestamp, data in read_raw(bag, {topic}):
        stamp = TYPESTORE.deserialize_cdr(data, msgtype).header.stamp
        frames.append((stamp_key(stamp.sec, stamp.nanosec), timestamp))
    return frames


def copy_topic(bag: str | Path, topic: str, out: Path) -> None:
    """Copy the messages of ``topic`` (CDR bytes and timestamps unchanged) into a new bag ``out``."""
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer

    with Reader(Path(bag)) as reader, Writer(out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = [c for c in reader.connections if c.topic == topic]
        target = writer.add_connection(topic, connections[0].msgtype, typestore=TYPESTORE)
        for _, timestamp, data in reader.messages(connections=connections):
            writer.write(target, timestamp, data)


def warmup_message(bag: str | Path, topic: str) -> bytes:
    """The first image of ``topic`` stamped ``WARMUP_SEC`` (CDR bytes): sent once before the replay so
    that the node's slow first inference cannot make it drop bag frames. The bag's first stamp then
    jumps back, which resets the node's tracks and smoothing: the replay starts from a clean state."""
    from dataclasses import replace

    for _, msgtype, _, data in read_raw(bag, {topic}):
        msg = TYPESTORE.deserialize_cdr(data, msgtype)
        stamp = TYPESTORE.types["builtin_interfaces/msg/Time"](sec=WARMUP_SEC, nanosec=0)
        return bytes(TYPESTORE.serialize_cdr(replace(msg, header=replace(msg.header, stamp=stamp)), msgtype))
    raise RegressionError(f"{bag}: no messages on {topic}")


def scene_photos(names: list[str] | None, scenes: Path) -> dict[str, np.ndarray]:
    """The photos called ``names`` (all when None): those that ship with scikit-image/matplotlib
    (``fer_ros.tools.demo.demo_photos``) and the ``*.jpg`` files in ``scenes`` (by file stem)."""
    import cv2

    from fer_ros.tools.demo import demo_photos

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
    from fer_ros.tools.demo import letterbox

    frames, sources = [], []
    for name, photo in photos.items():
        frame = letterbox(photo)
        frames += [frame] * repeats
        sources += [name] * repeats
    return frames, sources


def motion_frames(count: int, size=(640, 480)) -> list[np.ndarray]:
    """``count`` frames of two face tiles (the soak tool's astronaut and Grace Hopper) moving
    ``MOTION_STEP`` px per frame in opposite directions, one in each half of the frame."""
    import cv2

    from fer_ros.tools.soak import face_tiles

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


# --- the node --------------------------------------------------------------------------------------------
@dataclass
class Observation:
    """What fer_node published for one replay: one entry per /emotion message, in arrival order."""

    frames: list[dict] = field(default_factory=list)  # {"stamp", "faces": [{"id", "box", "label", ...}]}
    model: str = ""
    detector: str = ""
    sent: int = 0
    node_counts: dict = field(default_factory=dict)
    node_log: list[str] = field(default_factory=list)


def face_record(face) -> dict:
    roi = face.roi
    return {"id": face.id, "box": [int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)],
            "label": face.emotion, "confidence": round(float(face.confidence), 3), "quality": face.quality}


def replay(bag: str | Path, topic: str, msgtype: str, fps: float, params: list[str],
           frame_count: int, recorded_span_ns: int, startup_timeout: float = 60.0) -> Observation:
    """Start fer_node, play ``topic`` of ``bag`` into it with fer_ros.tools.player at ``fps`` frames/s
    (reliable QoS on both sides, so nothing is lost in transport) and collect its /emotion messages."""
    os.environ.setdefault("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")  # large frames (see README)
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from fer_ros.msg import FaceEmotionArray
    from fer_ros.tools.player import DISCOVERY_SETTLE_S, MESSAGE_TYPES, play
    from fer_ros.tools.soak import NodeLog

    if len(image_topics(bag)) > 1:  # the player replays every image topic: give it a bag of only ``topic``
        with tempfile.TemporaryDirectory(prefix="fer_regression_") as folder:
            print(f"  copying {topic} into a bag of its own (the player replays every image topic)", flush=True)
            copy_topic(bag, topic, Path(folder) / "bag")
            return replay(Path(folder) / "bag", topic, msgtype, fps, params, frame_count, recorded_span_ns,
                          startup_timeout)
    transport, node_input = INPUTS[msgtype]
    input_topic, emotion_topic = f"{NAMESPACE}/{node_input}", f"{NAMESPACE}/emotion"
    command = ["fer_node", "--ros-args", "-r", f"{node_input}:={input_topic}", "-r", f"emotion:={emotion_topic}",
               "-p", "publish_annotated:=false", "-p", "input_reliability:=reliable",
               "-p", f"input_transport:={transport}"]
    for param in params:
        command += ["-p", param]
    try:
        node_process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        raise RegressionError("fer_node not found: run `make build` and `. ./env.sh` first") from None
    log = NodeLog(node_process)
    observation = Observation()
    # The player paces by recording timestamps: scale them so that frames go out at ``fps`` on average.
    rate = fps * recorded_span_ns / 1e9 / (frame_count - 1) if frame_count > 1 and recorded_span_ns > 0 else 0.0

    warmed_up = threading.Event()

    def on_emotion(msg):
        if msg.header.stamp.sec == WARMUP_SEC:
            warmed_up.set()
            return
        if not observation.model:
            observation.model, observation.detector = msg.model, msg.detector
        observation.frames.append({"stamp": stamp_key(msg.header.stamp.sec, msg.header.stamp.nanosec),
                                   "processing_time": round(float(msg.processing_time), 4),
                                   "faces": [face_record(face) for face in msg.faces]})

    context = node = None
    try:
        deadline = time.monotonic() + startup_timeout
        while not any("ready:" in line for line in log.lines):
            if node_process.poll() is not None or time.monotonic() > deadline:
                raise RegressionError("fer_node did not start:\n  " + "\n  ".join(log.lines[-20:]))
            time.sleep(0.05)
        # Join the graph only now: a participant created while the node was starting up saw it seconds later.
        context = rclpy.Context()
        rclpy.init(args=[], context=context)  # never our own command line
        node = rclpy.create_node("fer_regression", context=context)
        node.create_subscription(FaceEmotionArray, emotion_topic, on_emotion,
                                 QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        while node.count_publishers(emotion_topic) == 0:
            if node_process.poll() is not None or time.monotonic() > deadline:
                raise RegressionError("fer_node's /emotion publisher was never discovered:\n  "
                                      + "\n  ".join(log.lines[-20:]))
            time.sleep(0.05)
        reliable_out = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        warmup = node.create_publisher(MESSAGE_TYPES[msgtype], input_topic, reliable_out)
        while warmup.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(DISCOVERY_SETTLE_S)
        warmup.publish(warmup_message(bag, topic))
        warmed_up.wait(30.0)
        node.destroy_publisher(warmup)
        observation.sent = play(node, str(bag), rate=rate, remap={topic: input_topic},
                                wait_for_subscribers=30.0,
                                qos=reliable_out)
        deadline = time.monotonic() + 15.0
        while len(observation.frames) < frame_count and time.monotonic() < deadline and node_process.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # anything later would be a duplicate; let it show
    finally:
        node_process.terminate()
        try:
            node_process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node_process.kill()
            node_process.wait()
        log.join()
        if node is not None:
            executor.shutdown()
            spinner.join(timeout=5)
            node.destroy_node()
        if context is not None:
            rclpy.try_shutdown(context=context)
    observation.node_counts = log.frame_counts() or {}
    observation.node_log = log.lines
    return observation


def missing_note(observation: Observation, expected: int) -> str:
    counts = observation.node_counts
    dropped = counts.get("dropped_stale", 0)
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected_")}
    return (f"fer_node answered {len(observation.frames)} of {expected} frames (node counts: received "
            f"{counts.get('received', '?')}, dropped as stale {dropped}{f', rejected {rejected}' if rejected else ''})"
            + ("; the node was slower than --fps: lower it" if dropped else ""))


# --- expectations ------------------------------------------------------------------------------------------
HEADER = """\
# fer_ros regression expectations, written by `python -m fer_ros.tools.regression bless`.
# frames: one entry per image of the bag, matched to /emotion messages by header stamp.
#   faces: the boxes the node published ([x, y, width, height] in pixels). Faces with the same
#   `track` key must keep one node id across frames (any id); a face without `track` is not checked
#   for identity. `label` is checked only where present: recorded for clear cases only; delete it,
#   or add one you know, as you like. node_params and fps are used again by `run`.
"""


def expectations_from(observation: Observation, bag: Path, topic: str, fps: float, params: list[str],
                      label_confidence: float | None, sources: list[str] | None = None,
                      clear_labels: dict[str, set[str]] | None = None) -> dict:
    """Turn what the node saw into expectations: node ids become track keys (t1, t2, ... for ids seen
    in at least two frames) and labels are kept only where clear (see the module docstring)."""
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
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))


def load_yaml(path: Path, what: str) -> dict:
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
    if not frames:
        raise RegressionError(f"{bag}: no messages on {topic}")
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


# --- comparison -----------------------------------------------------------------------------------------------
def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    inter = max(0, w) * max(0, h)
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


KINDS = {  # kind -> (singular, plural) for the summary
    "frame": ("frame missing", "frames missing"), "missing": ("face missing", "faces missing"),
    "extra": ("extra face", "extra faces"), "box": ("box below IoU", "boxes below IoU"),
    "switch": ("id switch", "id switches"), "reused": ("id reused", "ids reused"),
    "label": ("label mismatch", "label mismatches"), "unexpected": ("unexpected frame", "unexpected frames"),
}


@dataclass
class Report:
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
        if not bag_stamps:
            raise RegressionError(f"{bag}: no messages on {topic}")
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


# --- command line ------------------------------------------------------------------------------------------------
def make(args) -> int:
    bags = []
    if "scenes" in args.kinds:
        scenes = Path(args.scenes)
        photos = scene_photos(args.photos, scenes)
        if args.photos is None and not scenes.is_dir():
            print(f"note: {scenes} absent: the scenes bag holds only the packaged photos", flush=True)
        bags.append(("scenes", *scene_frames(photos, args.repeats)))
    if "motion" in args.kinds:
        bags.append(("motion", motion_frames(args.motion_frames), ["motion"] * args.motion_frames))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for storage in args.storage:
        for name, images, bag_sources in bags:
            bag = out / f"{name}_{storage}"
            if bag.exists():
                raise RegressionError(f"{bag} exists; remove it or choose another OUT")
            count = write_image_bag(bag, images, args.image_topic, args.rate, storage=storage)
            print(f"wrote {bag} ({storage}, {count} frames of 640x480 on {args.image_topic} at {args.rate:g} Hz)",
                  flush=True)
            if not args.no_bless:
                path = bless(bag, args.image_topic, args.fps, args.param, args.label_confidence,
                             sources=bag_sources, clear_labels=CLEAR_LABELS)
                print(f"blessed {path}", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.regression", description=__doc__.split("\n\n")[0],
                                     epilog="Exit codes: 0 PASS (or done), 1 FAIL, 2 cannot run.")
    commands = parser.add_subparsers(dest="command", required=True)

    def node_options(p, fps_default):
        p.add_argument("--topic", help="image topic to replay (sensor_msgs/Image or CompressedImage); "
                                       "default: the bag's only image topic" + (" or the blessed one" if fps_default is None
                                                                                 else ""))
        p.add_argument("--fps", type=float, default=fps_default,
                       help=f"frames/s the bag is played at (default {DEFAULT_FPS:g}"
                            + (", or the blessed value)" if fps_default is None else ")"))
        p.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE", help="fer_node parameter")

    p = commands.add_parser("make", help="write regression bags of photos and synthetic motion, and bless them")
    p.add_argument("out", help="folder for the bags and their expectations")
    p.add_argument("--storage", nargs="+", choices=["sqlite3", "mcap"], default=["sqlite3", "mcap"])
    p.add_argument("--kinds", nargs="+", choices=["scenes", "motion"], default=["scenes", "motion"],
                   help="which bags to make")
    p.add_argument("--scenes", default="../shared/data/scenes", help="folder of scene photos (*.jpg)")
    p.add_argument("--photos", nargs="+", metavar="NAME",
                   help="photos for the scenes bag: astronaut, grace_hopper, astronaut_and_hopper, cat or the stem "
                        "of a file in --scenes (default: all)")
    p.add_argument("--repeats", type=int, default=3, help="frames per photo")
    p.add_argument("--motion-frames", type=int, default=20, help="frames of the motion bag (at most 25)")
    p.add_argument("--rate", type=float, default=RECORD_RATE, help="recorded frame rate (Hz)")
    p.add_argument("--image-topic", default="/camera/image_raw")
    p.add_argument("--no-bless", action="store_true", help="write the bags only")
    p.add_argument("--label-confidence", type=float, default=DEFAULT_LABEL_CONFIDENCE,
                   help="smallest confidence of a recorded label")
    node_options(p, DEFAULT_FPS)

    p = commands.add_parser("bless", help="replay a bag through fer_node and write what it saw as the expectations")
    p.add_argument("bag", help="rosbag2 folder (metadata.yaml + sqlite3 or mcap)")
    p.add_argument("--expected", help=f"expectations file to write (default BAG{EXPECTED_SUFFIX})")
    p.add_argument("--label-confidence", type=float, default=DEFAULT_LABEL_CONFIDENCE,
                   help="record a label only where the node's confidence is at least this")
    p.add_argument("--no-labels", action="store_true", help="record no labels")
    node_options(p, DEFAULT_FPS)

    p = commands.add_parser("run", help="replay a bag through fer_node and report differences from its expectations")
    p.add_argument("bag", help="rosbag2 folder (metadata.yaml + sqlite3 or mcap)")
    p.add_argument("--expected", help=f"expectations file (default BAG{EXPECTED_SUFFIX})")
    p.add_argument("--iou", type=float, default=DEFAULT_IOU, help="smallest box overlap (IoU) that passes")
    p.add_argument("--save-observed", metavar="FILE", help="also write what the node published to FILE")
    p.add_argument("--observed", metavar="FILE", help="compare a file saved by --save-observed instead of replaying")
    node_options(p, None)

    args = parser.parse_args(argv)
    if args.command == "make" and (args.repeats < 1 or "motion" in args.kinds and args.motion_frames < 2):
        parser.error("--repeats must be >= 1 and --motion-frames >= 2")
    try:
        if args.command == "make":
            return make(args)
        if args.command == "bless":
            path = bless(args.bag, args.topic, args.fps, args.param, None if args.no_labels else args.label_confidence,
                         Path(args.expected) if args.expected else None)
            print(f"blessed {path}")
            return 0
        if not 0 < args.iou <= 1:
            parser.error("--iou must be in (0, 1]")
        report = run_regression(args.bag, Path(args.expected) if args.expected else None, args.topic, args.fps,
                                args.param, args.iou, args.observed and Path(args.observed),
                                args.save_observed and Path(args.save_observed))
        return 0 if report.passed else 1
    except RegressionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception:  # exit code 1 must mean FAIL, never a crash of this tool
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
