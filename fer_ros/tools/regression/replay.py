"""Replay a bag's image topic through a fresh fer_node and collect what it publishes (``Observation``)."""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.bags import TYPESTORE, read_raw
from fer_ros.tools.harness import Link, LinkError, NodeProcess, message_type, play
from fer_ros.tools.regression import RegressionError
from fer_ros.tools.regression.bag import INPUTS, copy_topic, image_topics, stamp_key

NAMESPACE = "/fer_regression"
# Frames/s of a replay. The node keeps only the newest frame, so a frame is lost whenever it is slower
# than the replay: on this 2-core machine, busy with other jobs, 640x480 frames took up to 0.3 s.
DEFAULT_FPS = 2.0
WARMUP_SEC = 2**31 - 1  # header stamp of the warm-up frame: after any real stamp


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
    """One fer_ros/FaceEmotion as the plain dict an Observation keeps."""
    roi = face.roi
    return {"id": face.id, "box": [int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)],
            "label": face.emotion, "confidence": round(float(face.confidence), 3), "quality": face.quality}


def warmup_message(bag: str | Path, topic: str) -> bytes:
    """The first image of ``topic`` stamped ``WARMUP_SEC`` (CDR bytes): sent once before the replay so
    that the node's slow first inference cannot make it drop bag frames. The bag's first stamp then
    jumps back, which resets the node's tracks and smoothing: the replay starts from a clean state."""
    for _, msgtype, _, data in read_raw(bag, {topic}):
        msg = TYPESTORE.deserialize_cdr(data, msgtype)
        stamp = TYPESTORE.types["builtin_interfaces/msg/Time"](sec=WARMUP_SEC, nanosec=0)
        return bytes(TYPESTORE.serialize_cdr(replace(msg, header=replace(msg.header, stamp=stamp)), msgtype))
    raise RegressionError(f"{bag}: no messages on {topic}")


def replay(bag: str | Path, topic: str, msgtype: str, fps: float, params: list[str],
           frame_count: int, recorded_span_ns: int, startup_timeout: float = 60.0) -> Observation:
    """Start fer_node, play ``topic`` of ``bag`` into it (fer_ros.tools.harness.play) at ``fps`` frames/s
    (reliable QoS on both sides, so nothing is lost in transport) and collect its /emotion messages."""
    use_large_frame_transport()  # large frames, fast discovery (see README)
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from fer_ros.msg import FaceEmotionArray

    if len(image_topics(bag)) > 1:  # the player replays every image topic: give it a bag of only ``topic``
        with tempfile.TemporaryDirectory(prefix="fer_regression_") as folder:
            print(f"  copying {topic} into a bag of its own (the player replays every image topic)", flush=True)
            copy_topic(bag, topic, Path(folder) / "bag")
            return replay(Path(folder) / "bag", topic, msgtype, fps, params, frame_count, recorded_span_ns,
                          startup_timeout)
    transport, node_input = INPUTS[msgtype]
    input_topic, emotion_topic = f"{NAMESPACE}/{node_input}", f"{NAMESPACE}/emotion"
    # confirm_frames 1: every frame's faces are compared, also the first frame of a scene (a bag of
    # photos shows each for a few frames only); a --param confirm_frames:=N given to run/bless wins.
    defaults = ["publish_annotated:=false", "input_reliability:=reliable", f"input_transport:={transport}",
                "confirm_frames:=1"]
    try:
        node_process = NodeProcess([*defaults, *params], remaps={node_input: input_topic, "emotion": emotion_topic})
    except FileNotFoundError:
        raise RegressionError("fer_node not found: run `make build` and `. ./env.sh` first") from None
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

    link = None
    try:
        deadline = time.monotonic() + startup_timeout
        if not node_process.wait_ready(startup_timeout):
            raise RegressionError("fer_node did not start:\n" + node_process.tail(20))
        # Join the graph only now: a participant created while the node was starting up saw it seconds later.
        link = Link("fer_regression")
        link.listen(FaceEmotionArray, emotion_topic, on_emotion)
        reliable_out = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        warmup = link.image_publisher(input_topic, message_type(msgtype), reliable_out)
        try:
            link.wait_for_node(node_process, warmup, emotion_topic, timeout=deadline - time.monotonic())
        except LinkError as error:
            raise RegressionError(str(error)) from None
        warmup.publish(warmup_message(bag, topic))
        warmed_up.wait(30.0)
        link.node.destroy_publisher(warmup)
        observation.sent = play(link.node, str(bag), rate=rate, remap={topic: input_topic},
                                wait_for_subscribers=30.0, qos=reliable_out)
        deadline = time.monotonic() + 15.0
        while len(observation.frames) < frame_count and time.monotonic() < deadline and node_process.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # anything later would be a duplicate; let it show
    finally:
        node_process.stop()
        if link is not None:
            link.close()
    observation.node_counts = node_process.frame_counts() or {}
    observation.node_log = node_process.lines
    return observation


def missing_note(observation: Observation, expected: int) -> str:
    """Why the node answered fewer than ``expected`` frames, from its frame counts."""
    counts = observation.node_counts
    dropped = counts.get("dropped_stale", 0)
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected_")}
    return (f"fer_node answered {len(observation.frames)} of {expected} frames (node counts: received "
            f"{counts.get('received', '?')}, dropped as stale {dropped}{f', rejected {rejected}' if rejected else ''})"
            + ("; the node was slower than --fps: lower it" if dropped else ""))
