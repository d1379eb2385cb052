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

import os
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.harness import Answers, Link, NodeProcess, header, raw_image, stamp_ns

IMAGE_TOPIC, EMOTION_TOPIC = "/fer_bench/image", "/fer_bench/emotion"
EVENTS_TOPIC = EMOTION_TOPIC + "/events"


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
    event_latencies_ms: list[float] = field(default_factory=list)  # appeared/changed: stamp -> arrival
    event_mismatches: list[str] = field(default_factory=list)  # where events and /emotion disagree


NODE_REMAPS = {"image": IMAGE_TOPIC, "emotion": EMOTION_TOPIC, "emotion/events": EVENTS_TOPIC,
               "emotion/annotated_image": "/fer_bench/annotated_image"}


class Camera:
    """Publishes ``frame_at(i)`` as the i-th raw frame at ``rate_hz`` from a thread of its own, each
    stamped with the wall clock just before it goes; ``timed`` keeps the stamps (ns) published while
    ``timing`` is set."""

    def __init__(self, publisher, frame_at: Callable[[int], np.ndarray], rate_hz: float = 30.0):
        self.publisher, self.frame_at, self.rate_hz = publisher, frame_at, rate_hz
        self.height, self.width = frame_at(0).shape[:2]
        self.timing = False
        self.timed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        period = 1.0 / self.rate_hz
        start, index = time.monotonic(), 0
        while not self._stop.is_set():
            payload = array("B", np.ascontiguousarray(self.frame_at(index)).tobytes())
            delay = start + index * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            stamped = header(*divmod(now, 1_000_000_000), "fer_bench_camera")
            self.publisher.publish(raw_image(payload, self.width, self.height, stamped))
            if self.timing:
                self.timed.append(now)
            index += 1


def cpu_share_over(node, seconds: float) -> float:
    """``node``'s (a psutil.Process) CPU seconds per wall second over the next ``seconds``."""
    cpu_before, wall_before = node.cpu_times(), time.monotonic()
    time.sleep(seconds)
    cpu_after, wall_after = node.cpu_times(), time.monotonic()
    return ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)) / (wall_after - wall_before)


def check_events(answers: Answers, events: Answers) -> tuple[list[float], list[str]]:
    """Milliseconds from each appeared/changed event's frame stamp to its arrival, and where the events
    differ from the labels /emotion published (per face, in stamp order: one appeared, a changed at
    each label change with the labels before and after, one left)."""
    labels: dict[str, list[str]] = {}
    for msg in sorted(answers.messages, key=lambda m: stamp_ns(m.header)):
        for face in msg.faces:
            labels.setdefault(face.id, []).append(face.emotion)
    mismatches = []
    for face_id, seq in labels.items():
        expected = [("appeared", "", seq[0])] + [("changed", a, b) for a, b in zip(seq, seq[1:]) if a != b]
        got = [(e.kind, e.previous_emotion, e.emotion) for e in events.messages if e.id == face_id]
        if got[:-1] != expected or not got or got[-1][0] != "left":
            mismatches.append(f"{face_id}: {len(got)} events, {len(expected)} changes expected before its left")
    latencies = [(events.arrival(stamp_ns(e.header))[0] - stamp_ns(e.header)) / 1e6
                 for e in events.messages if e.kind != "left"]
    return latencies, mismatches


def run_node(detector: str, params: list[str], frame_at: Callable[[int], np.ndarray], core: int, seconds: float,
             warmup_s: float = 2.0, startup_timeout: float = 60.0, rate_hz: float = 30.0) -> NodeRun:
    """Start fer_node with ``params`` on ``core``, publish frame ``frame_at(i)`` as the i-th at
    ``rate_hz`` until it answers, ``warmup_s`` more seconds untimed, then ``seconds`` timed; measure
    and stop it."""
    use_large_frame_transport()  # large frames, fast discovery (see README)
    import psutil

    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.msg import FaceEmotionArray, FaceEmotionEvent

    link = Link("fer_bench_replay")
    answers = link.listen(FaceEmotionArray, EMOTION_TOPIC, Answers())  # by stamp: arrival and faces
    events = link.listen(FaceEmotionEvent, EVENTS_TOPIC, Answers(), depth=1000)

    camera = Camera(link.image_publisher(IMAGE_TOPIC), frame_at, rate_hz)
    process = NodeProcess(["num_threads:=1", *params], remaps=NODE_REMAPS, env=one_thread_environment(), cpus={core})
    camera.start()
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
        camera.timing = True
        cpu_share = cpu_share_over(node, seconds)
        camera.timing = False
        camera.stop()  # no more frames: the node drains what it has, then is measured and stopped
        time.sleep(1.0)  # answers still on their way
        ids = {face.id for msg in answers.messages for face in msg.faces}
        # every face leaves, track_max_age (the default's 1 s) after the camera stopped
        deadline = time.monotonic() + 5.0
        while {e.id for e in events.messages if e.kind == "left"} < ids and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is not None:
            raise RuntimeError(f"fer_node exited with {process.poll()} during the run")
        rss = psutil.Process(process.pid).memory_info().rss / 2**20
    except (RuntimeError, psutil.Error) as failure:
        error = str(failure)
    finally:
        camera.stop()
        process.stop()
        link.close()
    answered = [(stamp, *answers.arrival(stamp)) for stamp in camera.timed if answers.arrival(stamp)]
    latencies, mismatches = check_events(answers, events)
    return NodeRun(detector=detector, published=len(camera.timed), answered=len(answered),
                   event_latencies_ms=latencies, event_mismatches=mismatches,
                   latencies_ms=[(arrival - stamp) / 1e6 for stamp, arrival, _ in answered],
                   cold_start_s=cold_start, ready_s=process.ready_seconds(), rss_mb=rss,
                   faces=[len(msg.faces) for _, _, msg in answered],
                   ids=list(dict.fromkeys(face.id for _, _, msg in answered for face in msg.faces)),
                   counts=process.frame_counts() or {}, cpu_share=cpu_share, error=error)


@dataclass
class IdleRun:
    """fer_node (lazy, the default) with a camera at 30 Hz: nobody listening, then one subscriber."""

    idle_cpu_share: float  # CPU seconds per wall second with no subscriber to its outputs
    first_answer_s: float | None  # from the subscription's creation to its first emotion message
    busy_cpu_share: float | None  # with the subscriber, after its first second
    published: int  # frames published after the subscriber's first second
    answered: int  # of them, answered


def run_idle(frame_at: Callable[[int], np.ndarray], core: int, seconds: float, settle_s: float = 3.0) -> IdleRun:
    """Start fer_node on ``core`` at the defaults with a camera at 30 Hz and no subscriber; after
    ``settle_s``, its CPU share over ``seconds``; then subscribe to its emotion topic: how soon the
    first answer comes, and, from one second after subscribing, ``seconds`` of answers and CPU share."""
    use_large_frame_transport()
    import psutil

    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.msg import FaceEmotionArray

    link = Link("fer_bench_idle")
    camera = Camera(link.image_publisher(IMAGE_TOPIC), frame_at)
    process = NodeProcess(["num_threads:=1"], remaps=NODE_REMAPS, env=one_thread_environment(), cpus={core})
    try:
        if not process.wait_ready(60):
            raise RuntimeError("fer_node did not start:\n" + process.tail(15))
        camera.start()
        time.sleep(settle_s)
        node = psutil.Process(process.pid)
        idle = cpu_share_over(node, seconds)
        answers = Answers()
        subscribed = time.monotonic()
        link.node.create_subscription(FaceEmotionArray, EMOTION_TOPIC, answers,
                                      QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        first = time.monotonic() - subscribed if answers.wait_count(1, 10.0) else None
        time.sleep(max(0.0, subscribed + 1.0 - time.monotonic()))
        camera.timing = True
        busy = cpu_share_over(node, seconds)
        camera.timing = False
        time.sleep(1.0)  # answers still on their way
    finally:
        camera.stop()
        process.stop()
        link.close()
    answered = sum(answers.arrival(stamp) is not None for stamp in camera.timed)
    return IdleRun(idle, first, busy, len(camera.timed), answered)


def main(argv=None) -> int:
    """``python -m fer_ros.bench.node_e2e --idle``: the lazy node's idle and first-subscriber figures."""
    import argparse

    from fer_ros.bench.frames import SyntheticSequence
    from fer_ros.bench.stats import last_core, machine_line

    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.node_e2e", description=main.__doc__)
    parser.add_argument("--idle", action="store_true", required=True, help="the idle run (the only one here)")
    parser.add_argument("--faces", type=int, default=6, help="faces in the camera's sequence")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds each CPU share is measured over")
    parser.add_argument("--core", type=int, default=last_core())
    args = parser.parse_args(argv)
    sequence = SyntheticSequence(args.faces, 100_000)
    load_start = os.getloadavg()
    run = run_idle(sequence.frame, args.core, args.seconds)
    answered = 100 * run.answered / run.published if run.published else 0.0
    print(f"fer_node, defaults (lazy), {args.faces} faces at 30 Hz, core {args.core}:")
    print(f"  nobody listening: {100 * run.idle_cpu_share:.1f}% of a core")
    print(f"  first answer {run.first_answer_s:.2f} s after the subscription" if run.first_answer_s is not None
          else "  no answer within 10 s of the subscription")
    print(f"  with the subscriber, after its first second: {100 * run.busy_cpu_share:.1f}% of a core, "
          f"{run.answered} of {run.published} frames answered ({answered:.1f}%)")
    if run.busy_cpu_share:
        print(f"  idle / busy CPU: {run.idle_cpu_share / run.busy_cpu_share:.2f}")
    print(machine_line(args.core, load_start, os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
