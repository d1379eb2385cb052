"""Soak test: run fer_node for many frames and check that it neither leaks nor stalls.

    python -m fer_ros.tools.soak [--frames 20000] [--faces 2] [--rate 0] [--loop-every 1000]

Starts ``fer_node`` as a subprocess, publishes frames (a grid of ``--faces`` photos that ship with
scikit-image and matplotlib, or ``--photo``) in lockstep: the next frame goes out when the previous
one's /emotion reply arrived (resent after ``--timeout`` seconds), optionally no faster than
``--rate`` frames/s. Image stamps advance 1/30 s per frame and jump back to the start every
``--loop-every`` frames, like a bag replayed in a loop, so track resets are exercised too.

The node's resident memory (RSS) and open file descriptors are measured after a warm-up
(``--warmup``, a fraction of the frames) and at the end; its frame counts are read from its log at
shutdown. PASS needs: RSS growth after warm-up below ``--max-rss-growth`` percent, no fd growth,
every frame answered, nothing rejected, and track ids that stay put while time moves forward and
change at every jump back. Exit code 0 on PASS, 1 on FAIL.
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import re
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path

import cv2
import numpy as np
import psutil

from fer_ros.core.image import FRAME_SIZE, letterbox
from fer_ros.node.dds import use_large_frame_transport

IMAGE_TOPIC, EMOTION_TOPIC = "/soak/image", "/soak/emotion"
START_STAMP = 1_700_000_000.0  # seconds; each loop of --loop-every frames starts here again
FRAME_PERIOD = 1 / 30  # seconds of image time per frame (a 30 fps camera)


def face_tiles() -> list[np.ndarray]:
    """Head-and-shoulders crops of the people in photos that ship with scikit-image and matplotlib
    (astronaut Eileen Collins, Grace Hopper), so that faces stay detectable in small grid cells."""
    from fer_ros.core.detectors import create_detector
    from fer_ros.tools.demo import demo_photos

    photos = demo_photos()
    detector = create_detector("haar")
    tiles = []
    for name in ("astronaut", "grace_hopper"):
        photo = photos[name]
        box = detector.detect(photo, 32)[0]
        side = int(box.width * 2.2)  # the face and some context around it, square
        cx, cy = box.x + box.width // 2, box.y + box.height // 2
        x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
        tiles.append(photo[y0:y0 + side, x0:x0 + side])
    return tiles


def grid_frame(faces: int, size=FRAME_SIZE) -> np.ndarray:
    """A BGR frame of ``size`` holding ``faces`` people in a grid (0: an empty grey frame)."""
    width, height = size
    canvas = np.full((height, width, 3), 64, np.uint8)
    if faces <= 0:
        return canvas
    tiles = face_tiles()
    cols = math.ceil(math.sqrt(faces * width / height))
    rows = math.ceil(faces / cols)
    cell_w, cell_h = width // cols, height // rows
    for i in range(faces):
        row, col = divmod(i, cols)
        canvas[row * cell_h:(row + 1) * cell_h, col * cell_w:(col + 1) * cell_w] = letterbox(
            tiles[i % len(tiles)], (cell_w, cell_h))
    return canvas


def node_command(params: list[str]) -> list[str]:
    command = ["fer_node", "--ros-args", "-r", f"image:={IMAGE_TOPIC}", "-r", f"emotion:={EMOTION_TOPIC}",
               "-r", "emotion/annotated_image:=/soak/annotated_image"]
    for param in params:
        command += ["-p", param]
    return command


class NodeLog:
    """Collects the node's stdout/stderr lines in a background thread."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def wait_ready(self, process: subprocess.Popen, deadline: float) -> bool:
        """Wait for the node's ``ready:`` line; False if ``process`` exits or the monotonic ``deadline`` passes."""
        while not any("ready:" in line for line in self.lines):
            if process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def frame_counts(self) -> dict[str, int] | None:
        """The node's ``frame counts: {...}`` line, logged at shutdown."""
        for line in reversed(self.lines):
            match = re.search(r"frame counts: (\{.*\})", line)
            if match:
                return ast.literal_eval(match.group(1))
        return None


class Replies:
    """Subscriber side: waits for the /emotion reply to one header at a time."""

    def __init__(self):
        self._condition = threading.Condition()
        self._expected = None
        self._reply = None
        self.others = 0  # replies to frames no longer awaited (a resent frame answered twice)

    @staticmethod
    def key(header):
        return header.stamp.sec, header.stamp.nanosec, header.frame_id

    def expect(self, header) -> None:
        with self._condition:
            self._expected, self._reply = self.key(header), None

    def __call__(self, msg) -> None:
        with self._condition:
            if self.key(msg.header) == self._expected and self._reply is None:
                self._reply = msg
                self._condition.notify_all()
            else:
                self.others += 1

    def wait(self, timeout: float):
        with self._condition:
            self._condition.wait_for(lambda: self._reply is not None, timeout)
            return self._reply


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Terminate ``process`` and wait for it; kill it if it has not exited after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def camera_side(name: str, image_topic: str, emotion_topic: str, on_emotion):
    """A node that publishes raw images on ``image_topic`` and hands every FaceEmotionArray on
    ``emotion_topic`` to ``on_emotion``, spun in a background thread. Returns (node, publisher,
    executor, spinner); call rclpy.init() first and ``close_camera_side`` when done."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from fer_ros.msg import FaceEmotionArray

    node = rclpy.create_node(name)
    node.create_subscription(FaceEmotionArray, emotion_topic, on_emotion,
                             QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    publisher = node.create_publisher(Image, image_topic, qos_profile_sensor_data)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    return node, publisher, executor, spinner


def close_camera_side(node, executor, spinner) -> None:
    import rclpy

    executor.shutdown()
    spinner.join(timeout=5)
    node.destroy_node()
    rclpy.try_shutdown()


def measure(process: psutil.Process) -> tuple[int, int]:
    """(resident memory in bytes, open file descriptors) of ``process``."""
    return process.memory_info().rss, process.num_fds()


def run(args) -> int:
    use_large_frame_transport()  # large frames, fast discovery (see README)
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    if args.photo:
        image = cv2.imread(args.photo)
        if image is None:
            print(f"cannot read {args.photo}", file=sys.stderr)
            return 1
        frame, source = letterbox(image, args.size), Path(args.photo).name
    else:
        frame, source = grid_frame(args.faces, args.size), f"a grid of {args.faces} face(s)"
    width, height = args.size
    data = array("B", np.ascontiguousarray(frame).tobytes())  # shared by every message: no per-frame copy
    warmup = max(1, int(args.frames * args.warmup))
    loop = args.loop_every if args.loop_every > 0 else args.frames + 1
    print(f"soak: {args.frames} frames of {width}x{height} bgr8 ({source}), image stamps jump back every "
          f"{loop if args.loop_every > 0 else 'never'} frames, "
          f"{'as fast as answered' if args.rate <= 0 else f'at most {args.rate:g} frames/s'}; "
          f"warm-up {warmup} frames", flush=True)

    node_process = subprocess.Popen(node_command(args.param), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
    log = NodeLog(node_process)
    rclpy.init()
    replies = Replies()
    node, publisher, executor, spinner = camera_side("fer_soak", IMAGE_TOPIC, EMOTION_TOPIC, replies)

    sent = resends = unanswered = 0
    warm = end = None
    faces_seen: list[int] = []
    processing: list[float] = []
    id_changes_in_loop = kept_at_jump = jumps = 0
    distinct_ids: set[str] = set()
    previous_ids: set[str] | None = None
    started = time.monotonic()
    failure = None
    try:
        deadline = time.monotonic() + args.startup_timeout
        if not log.wait_ready(node_process, deadline):
            raise RuntimeError("fer_node did not start:\n" + "\n".join(log.lines[-20:]))
        while publisher.get_subscription_count() == 0 or node.count_publishers(EMOTION_TOPIC) == 0:
            if node_process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fer_node's image subscription never matched")
            time.sleep(0.05)
        time.sleep(0.5)  # let the node's side of discovery see us too
        ps = psutil.Process(node_process.pid)
        started = time.monotonic()
        for i in range(args.frames):
            if args.rate > 0:
                delay = started + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            stamp = START_STAMP + (i % loop) * FRAME_PERIOD
            sec = int(stamp)
            header = Header(frame_id="soak_camera")
            header.stamp.sec, header.stamp.nanosec = sec, int(round((stamp - sec) * 1e9))
            msg = Image(header=header, height=height, width=width, encoding="bgr8", is_bigendian=0,
                        step=width * 3)
            msg.data = data
            replies.expect(header)
            reply = None
            for attempt in range(1 + args.resends):
                publisher.publish(msg)
                sent += attempt == 0
                resends += attempt > 0
                reply = replies.wait(args.timeout)
                if reply is not None or node_process.poll() is not None:
                    break
            if node_process.poll() is not None:
                raise RuntimeError(f"fer_node exited with {node_process.returncode} at frame {i}")
            if reply is None:
                unanswered += 1
                previous_ids = None
            else:
                ids = {face.id for face in reply.faces}
                faces_seen.append(len(reply.faces))
                processing.append(reply.processing_time)
                distinct_ids |= ids
                if previous_ids is not None and (ids or previous_ids):
                    if i % loop == 0:
                        jumps += 1
                        kept_at_jump += bool(ids & previous_ids)
                    elif previous_ids and ids != previous_ids:  # from none: the faces were just confirmed
                        id_changes_in_loop += 1
                previous_ids = ids
            if i + 1 == warmup:
                warm = (i + 1, *measure(ps))
            if args.progress and (i + 1) % max(1, args.frames // 10) == 0:
                rss, fds = measure(ps)
                print(f"  {i + 1:>7}/{args.frames} frames, {(i + 1) / (time.monotonic() - started):6.1f} frames/s, "
                      f"node RSS {rss / 2**20:7.1f} MB, {fds} fds", flush=True)
        end = measure(ps)
    except (RuntimeError, psutil.Error) as error:
        failure = str(error)
    finally:
        elapsed = time.monotonic() - started
        stop_process(node_process)
        log.join()
        close_camera_side(node, executor, spinner)

    counts = log.frame_counts() or {}
    checks = []
    if failure:
        checks.append((False, failure))
    if warm and end:
        growth = (end[0] - warm[1]) / warm[1] * 100
        checks.append((growth < args.max_rss_growth,
                       f"RSS growth after warm-up {growth:+.2f}% < {args.max_rss_growth:g}%"))
        checks.append((end[1] <= warm[2], f"open fds {warm[2]} -> {end[1]}: no growth"))
    else:
        checks.append((False, "RSS and fds measured after warm-up and at the end"))
    answered = len(faces_seen)
    checks.append((answered == args.frames and unanswered == 0,
                   f"every frame answered ({answered}/{args.frames}, {unanswered} unanswered)"))
    rejected = {k: v for k, v in counts.items() if k.startswith("rejected_")}
    checks.append((bool(counts) and not rejected, f"node log: frame counts found, nothing rejected {rejected or ''}"))
    if distinct_ids:
        checks.append((id_changes_in_loop == 0, f"track ids kept while time moves forward "
                                                f"({id_changes_in_loop} changes)"))
        if jumps:
            checks.append((kept_at_jump == 0, f"track ids reset at every jump back ({jumps - kept_at_jump}/{jumps})"))

    passed = all(ok for ok, _ in checks)
    print("result:")
    print(f"  frames sent          {sent} ({resends} resends)")
    print(f"  frames answered      {answered} ({unanswered} unanswered, {replies.others} extra replies)")
    print(f"  node frame counts    {counts or 'not found in its log'}")
    if faces_seen:
        print(f"  faces per frame      mean {np.mean(faces_seen):.2f} (min {min(faces_seen)}, max {max(faces_seen)})")
        print(f"  track ids            {len(distinct_ids)} distinct over {jumps} jumps back")
        print(f"  throughput           {answered / elapsed:.1f} frames/s over {elapsed:.1f} s, node processing_time "
              f"mean {np.mean(processing) * 1000:.1f} ms, max {np.max(processing) * 1000:.1f} ms")
    if warm and end:
        print(f"  node RSS             warm-up (frame {warm[0]}) {warm[1] / 2**20:.1f} MB, end {end[0] / 2**20:.1f} MB,"
              f" growth {(end[0] - warm[1]) / warm[1] * 100:+.2f}%")
        print(f"  node open fds        warm-up {warm[2]}, end {end[1]}")
    for ok, text in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {text}")
    if not passed:
        print("node log (last lines):\n  " + "\n  ".join(log.lines[-60:]))
    print("PASS" if passed else "FAIL", flush=True)
    return 0 if passed else 1


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError("frames must be at least 16x16")
    return width, height


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20000, help="frames to send")
    parser.add_argument("--faces", type=int, default=2, help="faces per frame (grid of photos; 0: none)")
    parser.add_argument("--photo", help="send this photo (letterboxed to --size) instead of the grid")
    parser.add_argument("--size", type=_size, default=FRAME_SIZE, metavar="WxH",
                        help="frame size (default 640x480)")
    parser.add_argument("--rate", type=float, default=0.0, help="at most this many frames/s; 0: as fast as answered")
    parser.add_argument("--loop-every", type=int, default=1000,
                        help="image stamps jump back to the start every K frames (0: never)")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of frames before the first measurement")
    parser.add_argument("--max-rss-growth", type=float, default=5.0, help="percent of RSS growth allowed after warm-up")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a reply before resending")
    parser.add_argument("--resends", type=int, default=3, help="resends of an unanswered frame before giving up")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds for fer_node to start")
    parser.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE", help="fer_node parameter")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no line every 10%% of frames")
    args = parser.parse_args(argv)
    if args.frames < 1 or not 0 < args.warmup < 1:
        parser.error("--frames must be >= 1 and --warmup in (0, 1)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
