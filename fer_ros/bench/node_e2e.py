"""End to end through the real fer_node: replay a 640x480 sequence at 30 Hz, time each answer.

The node is started as its own process, pinned to the benchmark's core; this process renders the
frames of a sequence one by one (it never loops back, so faces never jump) and publishes them as raw
``sensor_msgs/Image`` frames (sensor-data QoS, as a camera driver) from the other cores, each
stamped with the wall clock just before publishing, and notes when the ``FaceEmotionArray`` carrying
the same stamp arrives and the face ids it carries. Publishing starts before the node does, so the
first answer also gives the node's cold start: from process start (Popen) to its first emotion
message. Over the timed window it also reads the node's CPU time (all its threads, user and
system), so ``cpu_share`` is the node's CPU seconds per wall second: 0.2 is a fifth of one core.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.harness import Answers, Link, NodeProcess, header, raw_image

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
    cpu_share: float | None = None  # the node's CPU seconds per wall second in the timed window
    error: str = ""


NODE_REMAPS = {"image": IMAGE_TOPIC, "emotion": EMOTION_TOPIC, "emotion/annotated_image": "/fer_bench/annotated_image"}


def run_node(detector: str, params: list[str], frame_at: Callable[[int], np.ndarray], core: int, seconds: float,
             warmup_s: float = 2.0, startup_timeout: float = 60.0, rate_hz: float = 30.0) -> NodeRun:
    """Start fer_node with ``params`` on ``core``, publish frame ``frame_at(i)`` as the i-th at
    ``rate_hz`` until it answers, ``warmup_s`` more seconds untimed, then ``seconds`` timed; measure
    and stop it."""
    use_large_frame_transport()  # large frames, fast discovery (see README)
    import psutil

    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.msg import FaceEmotionArray

    height, width = frame_at(0).shape[:2]
    link = Link("fer_bench_replay")
    answers = link.listen(FaceEmotionArray, EMOTION_TOPIC, Answers())  # by stamp: arrival and faces
    publisher = link.image_publisher(IMAGE_TOPIC)

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
            stamped = header(*divmod(now, 1_000_000_000), "fer_bench_camera")
            publisher.publish(raw_image(payload, width, height, stamped))
            if phase["timing"]:
                timed.append(now)
            index += 1

    process = NodeProcess(["num_threads:=1", *params], remaps=NODE_REMAPS, env=one_thread_environment(), cpus={core})
    publisher_thread = threading.Thread(target=publish_loop, daemon=True)
    publisher_thread.start()
    cold_start = rss = cpu_share = None
    error = ""
    try:
        deadline = time.monotonic() + startup_timeout
        while not answers.wait_count(1, 0.1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fer_node gave no emotion message:\n" + process.tail(15))
        cold_start = (answers.first_arrival_ns - process.launched_ns) / 1e9
        time.sleep(warmup_s)
        node = psutil.Process(process.pid)
        cpu_before, wall_before = node.cpu_times(), time.monotonic()
        phase["timing"] = True
        time.sleep(seconds)
        phase["timing"] = False
        cpu_after, wall_after = node.cpu_times(), time.monotonic()
        cpu_share = ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)) / (
            wall_after - wall_before)
        stop.set()  # no more frames: the node drains what it has, then is measured and stopped
        publisher_thread.join(timeout=5)
        time.sleep(1.0)  # answers still on their way
        if process.poll() is not None:
            raise RuntimeError(f"fer_node exited with {process.poll()} during the run")
        rss = psutil.Process(process.pid).memory_info().rss / 2**20
    except (RuntimeError, psutil.Error) as failure:
        error = str(failure)
    finally:
        stop.set()
        publisher_thread.join(timeout=5)
        process.stop()
        link.close()
    answered = [(stamp, *answers.arrival(stamp)) for stamp in timed if answers.arrival(stamp)]
    return NodeRun(detector=detector, published=len(timed), answered=len(answered),
                   latencies_ms=[(arrival - stamp) / 1e6 for stamp, arrival, _ in answered],
                   cold_start_s=cold_start, ready_s=process.ready_seconds(), rss_mb=rss,
                   faces=[len(msg.faces) for _, _, msg in answered],
                   ids=list(dict.fromkeys(face.id for _, _, msg in answered for face in msg.faces)),
                   counts=process.frame_counts() or {}, cpu_share=cpu_share, error=error)
