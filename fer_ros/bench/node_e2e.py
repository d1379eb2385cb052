"""End to end through the real fer_node: replay a 640x480 sequence at 30 Hz, time each answer.

The node is started as its own process, pinned to the benchmark's core; this process renders the
frames of a sequence of moving faces one by one (it never loops back, so faces never jump) and
publishes them as raw ``sensor_msgs/Image`` frames (sensor-data QoS, as a camera driver) from the
other cores, each stamped with the wall clock just before publishing, and notes when the
``FaceEmotionArray`` carrying the same stamp arrives and the face ids it carries. Publishing starts before the node does, so the first answer also gives the node's
cold start: from process start (Popen) to its first emotion message.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fer_ros.node.dds import use_large_frame_transport

IMAGE_TOPIC, EMOTION_TOPIC = "/fer_bench/image", "/fer_bench/emotion"


@dataclass
class NodeRun:
    detector: str
    published: int  # frames published in the timed window
    answered: int  # of them, how many got an emotion message
    latencies_ms: list[float]  # header stamp -> arrival of its emotion message
    cold_start_s: float | None
    ready_s: float | None  # process start -> its "ready:" log line (imports, model load)
    rss_mb: float | None
    faces: list[int]
    ids: list[str]  # distinct face ids in the timed answers, in order of appearance
    counts: dict  # the node's own frame counts, from its log at shutdown
    error: str = ""


def node_command(params: list[str]) -> list[str]:
    command = ["fer_node", "--ros-args", "-r", f"image:={IMAGE_TOPIC}", "-r", f"emotion:={EMOTION_TOPIC}",
               "-r", "emotion/annotated_image:=/fer_bench/annotated_image", "-p", "num_threads:=1"]
    for param in params:
        command += ["-p", param]
    return command


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def ready_seconds(lines: list[str], launched_ns: int) -> float | None:
    """Seconds from ``launched_ns`` to the node's ``ready:`` line, read from its log time stamp."""
    for line in lines:
        match = re.search(r"\[(\d+\.\d+)\] \[[^]]*\]: ready:", line)
        if match:
            return float(match.group(1)) - launched_ns / 1e9
    return None


def run_node(detector: str, params: list[str], frame_at: Callable[[int], np.ndarray], core: int, seconds: float,
             warmup_s: float = 2.0, startup_timeout: float = 60.0, rate_hz: float = 30.0) -> NodeRun:
    """Start fer_node with ``params`` on ``core``, publish frame ``frame_at(i)`` as the i-th at
    ``rate_hz`` until it answers, ``warmup_s`` more seconds untimed, then ``seconds`` timed; measure
    and stop it."""
    use_large_frame_transport()  # large frames, fast discovery (see README)
    import psutil
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.tools.soak import NodeLog, camera_side, close_camera_side, stop_process

    height, width = frame_at(0).shape[:2]
    arrivals: dict[int, tuple[int, int, tuple]] = {}  # stamp (ns) -> (arrival ns, faces, their ids)
    first = threading.Event()
    first_arrival = [0]

    def on_emotion(msg):
        now = time.time_ns()
        arrivals.setdefault(stamp_ns(msg.header), (now, len(msg.faces), tuple(f.id for f in msg.faces)))
        if not first.is_set():
            first_arrival[0] = now
            first.set()

    rclpy.init()
    node, publisher, executor, spinner = camera_side("fer_bench_replay", IMAGE_TOPIC, EMOTION_TOPIC, on_emotion)

    timed: list[int] = []
    stop = threading.Event()
    phase = {"timing": False}

    def publish_loop():
        period = 1.0 / rate_hz
        start, index = time.monotonic(), 0
        while not stop.is_set():
            payload = array("B", np.ascontiguousarray(frame_at(index)).tobytes())
            delay = start + index * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            header = Header(frame_id="fer_bench_camera")
            header.stamp.sec, header.stamp.nanosec = divmod(now, 1_000_000_000)
            msg = Image(header=header, height=height, width=width, encoding="bgr8", is_bigendian=0,
                        step=width * 3)
            msg.data = payload
            publisher.publish(msg)
            if phase["timing"]:
                timed.append(now)
            index += 1

    env = one_thread_environment()
    launched = time.time_ns()
    process = subprocess.Popen(node_command(params), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    log = NodeLog(process)
    publisher_thread = threading.Thread(target=publish_loop, daemon=True)
    publisher_thread.start()
    cold_start = rss = None
    error = ""
    try:
        deadline = time.monotonic() + startup_timeout
        while not first.wait(0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fer_node gave no emotion message:\n  " + "\n  ".join(log.lines[-15:]))
        cold_start = (first_arrival[0] - launched) / 1e9
        time.sleep(warmup_s)
        phase["timing"] = True
        time.sleep(seconds)
        phase["timing"] = False
        stop.set()  # no more frames: the node drains what it has, then is measured and stopped
        publisher_thread.join(timeout=5)
        time.sleep(1.0)  # answers still on their way
        if process.poll() is not None:
            raise RuntimeError(f"fer_node exited with {process.returncode} during the run")
        rss = psutil.Process(process.pid).memory_info().rss / 2**20
    except (RuntimeError, psutil.Error) as failure:
        error = str(failure)
    finally:
        stop.set()
        publisher_thread.join(timeout=5)
        stop_process(process)
        log.join()
        close_camera_side(node, executor, spinner)
    answered = [(stamp, *arrivals[stamp]) for stamp in timed if stamp in arrivals]
    return NodeRun(detector=detector, published=len(timed), answered=len(answered),
                   latencies_ms=[(arrival - stamp) / 1e6 for stamp, arrival, _, _ in answered],
                   cold_start_s=cold_start, ready_s=ready_seconds(log.lines, launched), rss_mb=rss,
                   faces=[faces for _, _, faces, _ in answered],
                   ids=list(dict.fromkeys(i for _, _, _, ids in answered for i in ids)),
                   counts=log.frame_counts() or {}, error=error)
