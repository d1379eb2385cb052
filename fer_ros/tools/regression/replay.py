"""Replay a bag's image topic through a fresh fer_node and collect what it publishes (``Observation``)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from fer_ros.tools.bags import TYPESTORE, read_raw
from fer_ros.node.dds import use_large_frame_transport
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
    """Start fer_node, play ``topic`` of ``bag`` into it with fer_ros.tools.player at ``fps`` frames/s
    (reliable QoS on both sides, so nothing is lost in transport) and collect its /emotion messages."""
    use_large_frame_transport()  # large frames, fast discovery (see README)
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from fer_ros.msg import FaceEmotionArray
    from fer_ros.tools.player import DISCOVERY_SETTLE_S, MESSAGE_TYPES, play
    from fer_ros.tools.soak import NodeLog, stop_process

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
    command = ["fer_node", "--ros-args", "-r", f"{node_input}:={input_topic}", "-r", f"emotion:={emotion_topic}",
               "-p", "publish_annotated:=false", "-p", "input_reliability:=reliable",
               "-p", f"input_transport:={transport}", "-p", "confirm_frames:=1"]
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
        if not log.wait_ready(node_process, deadline):
            raise RegressionError("fer_node did not start:\n  " + "\n  ".join(log.lines[-20:]))
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
        stop_process(node_process)
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
    """Why the node answered fewer than ``expected`` frames, from its frame counts."""
    counts = observation.node_counts
    dropped = counts.get("dropped_stale", 0)
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected_")}
    return (f"fer_node answered {len(observation.frames)} of {expected} frames (node counts: received "
            f"{counts.get('received', '?')}, dropped as stale {dropped}{f', rejected {rejected}' if rejected else ''})"
            + ("; the node was slower than --fps: lower it" if dropped else ""))
