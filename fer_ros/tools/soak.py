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
import math
import sys
import time
from array import array
from pathlib import Path

import cv2
import numpy as np
import psutil

from fer_ros.core.image import FRAME_SIZE, letterbox
from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.harness import Answers, Link, NodeProcess, header, raw_image, stamp_ns
from fer_ros.tools.photos import face_tiles

IMAGE_TOPIC, EMOTION_TOPIC = "/soak/image", "/soak/emotion"
START_STAMP = 1_700_000_000.0  # seconds; each loop of --loop-every frames starts here again
FRAME_PERIOD = 1 / 30  # seconds of image time per frame (a 30 fps camera)


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


NODE_REMAPS = {"image": IMAGE_TOPIC, "emotion": EMOTION_TOPIC, "emotion/annotated_image": "/soak/annotated_image"}


def measure(process: psutil.Process) -> tuple[int, int]:
    """(resident memory in bytes, open file descriptors) of ``process``."""
    return process.memory_info().rss, process.num_fds()


def run(args) -> int:
    use_large_frame_transport()  # large frames, fast discovery (see README)
    from fer_ros.msg import FaceEmotionArray

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

    node_process = NodeProcess(args.param, remaps=NODE_REMAPS)
    link = Link("fer_soak")
    replies = link.listen(FaceEmotionArray, EMOTION_TOPIC, Answers())
    publisher = link.image_publisher(IMAGE_TOPIC)

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
        if not node_process.wait_ready(args.startup_timeout):
            raise RuntimeError("fer_node did not start:\n" + node_process.tail(20, indent=""))
        link.wait_for_node(node_process, publisher, EMOTION_TOPIC, timeout=deadline - time.monotonic())
        ps = psutil.Process(node_process.pid)
        started = time.monotonic()
        for i in range(args.frames):
            if args.rate > 0:
                delay = started + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            stamp = START_STAMP + (i % loop) * FRAME_PERIOD
            sec = int(stamp)
            msg = raw_image(data, width, height, header(sec, int(round((stamp - sec) * 1e9)), "soak_camera"))
            since = replies.mark()  # the reply to this frame, not to an earlier one with the same stamp
            reply = None
            for attempt in range(1 + args.resends):
                publisher.publish(msg)
                sent += attempt == 0
                resends += attempt > 0
                reply = replies.wait_for(stamp_ns(msg.header), args.timeout, since)
                if reply is not None or node_process.poll() is not None:
                    break
            if node_process.poll() is not None:
                raise RuntimeError(f"fer_node exited with {node_process.poll()} at frame {i}")
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
    except (RuntimeError, psutil.Error) as error:  # LinkError is a RuntimeError
        failure = str(error)
    finally:
        elapsed = time.monotonic() - started
        node_process.stop()
        link.close()

    counts = node_process.frame_counts() or {}
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
    print(f"  frames answered      {answered} ({unanswered} unanswered, {len(replies) - answered} extra replies)")
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
        print("node log (last lines):\n" + node_process.tail(60))
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
