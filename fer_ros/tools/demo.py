"""The main job on an embedded default: replay a short bag of real photos through fer_node.

    python -m fer_ros.tools.demo [--bag BAG [--topic TOPIC] | --camera INDEX] [--out demo_output]

Without --bag or --camera it writes a rosbag2 of photos that ship inside scikit-image and matplotlib
(astronaut Eileen Collins, Grace Hopper, both side by side, and a cat as the no-face case), starts
fer_node, plays the bag into it, prints every /emotion message as it arrives and writes each
annotated frame to OUT/annotated/ as PNG. With --bag it plays the bag's image topic, sensor_msgs/Image
or CompressedImage (e.g. a robot's /camera/color/image_raw/compressed), and sets fer_node's input to
match; a bag with several image topics needs --topic to choose one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
from sensor_msgs.msg import Image

from fer_ros.core.errors import ConfigError
from fer_ros.core.image import letterbox
from fer_ros.msg import FaceEmotionArray
from fer_ros.node.conversions import image_to_bgr
from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.bags import TRANSPORTS, image_topic, write_image_bag
from fer_ros.tools.harness import Answers, Link, NodeProcess, play
from fer_ros.tools.photos import demo_photos

IMAGE_TOPIC = "/camera/image_raw"
CHOOSE_TOPIC = "TOPIC=<name> (make demo) or --topic <name>"


def write_demo_bag(path: Path, repeats: int = 3, rate_hz: float = 5.0) -> int:
    """The demo photos, each ``repeats`` times, as a raw image bag on IMAGE_TOPIC; returns the frame count."""
    frames = [letterbox(photo) for photo in demo_photos().values() for _ in range(repeats)]
    return write_image_bag(path, frames, IMAGE_TOPIC, rate_hz)


def bag_topic(bag: Path, topic: str | None) -> tuple[str, str]:
    """The bag's image topic to play (``topic`` when given) and its transport, raw or compressed;
    exits with the reason when the bag has no such topic or several and none is chosen."""
    try:
        topic, msgtype = image_topic(bag, topic, CHOOSE_TOPIC)
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"playing {topic} ({msgtype}) from {bag}", flush=True)
    return topic, TRANSPORTS[msgtype]


def node_input(topic: str, transport: str) -> tuple[list[str], dict[str, str]]:
    """fer_node's parameters and remaps that make it read ``topic`` as ``transport`` (raw or compressed)."""
    subscription = "image/compressed" if transport == "compressed" else "image"
    return [f"input_transport:={transport}"], {subscription: topic}


def describe(msg: FaceEmotionArray) -> str:
    stamp = f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
    if not msg.faces:
        return f"[{stamp}] no face ({msg.processing_time * 1000:.0f} ms)"
    parts = []
    for face in msg.faces:
        top = sorted(zip(face.scores, face.labels), reverse=True)[1:3]
        others = ", ".join(f"{label} {score:.2f}" for score, label in top)
        parts.append(f"{face.id} {face.emotion} {face.confidence:.2f} (then {others}) at "
                     f"x={face.roi.x_offset} y={face.roi.y_offset} {face.roi.width}x{face.roi.height}")
    return f"[{stamp}] {len(msg.faces)} face(s), {msg.processing_time * 1000:.0f} ms: " + "; ".join(parts)


def camera_frames(index: int, seconds: float):
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise SystemExit(f"camera {index} cannot be opened; check the device (ls /dev/video*) or use --bag")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ok, frame = capture.read()
        if ok:
            yield frame
    capture.release()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.demo", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--bag", help="play this rosbag2 (a folder, or one .mcap or .db3 file) instead: "
                        "its image topic, raw or compressed")
    source.add_argument("--camera", type=int, help="publish frames of this camera index instead")
    parser.add_argument("--topic", help="the bag's image topic to play, when it has several")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run the camera")
    parser.add_argument("--out", default="demo_output", help="folder for the bag and annotated frames")
    parser.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="fer_node parameter, e.g. detector:=yunet")
    args = parser.parse_args(argv)
    if args.topic and args.camera is not None:
        parser.error("--topic chooses a topic of the bag; it does not apply to --camera")
    use_large_frame_transport()  # large frames, fast discovery (see README)

    out = Path(args.out)
    annotated_dir = out / "annotated"
    annotated_dir.mkdir(parents=True, exist_ok=True)
    bag = Path(args.bag) if args.bag else out / "demo_bag"
    if not args.bag and args.camera is None and not (bag / "metadata.yaml").exists():
        print(f"writing demo bag {bag}: {write_demo_bag(bag)} frames", flush=True)
    topic, transport = (IMAGE_TOPIC, "raw") if args.camera is not None else bag_topic(bag, args.topic)
    input_params, remaps = node_input(topic, transport)
    for old in annotated_dir.glob("*.png"):
        old.unlink()

    # The node's log goes to our stderr as it comes; every /emotion message is printed as it arrives.
    # Its input follows the bag's topic: that input_transport comes last, so it wins over one in --param
    # (a node waiting on the other transport would receive nothing).
    node_process = NodeProcess(args.param + input_params, remaps=remaps, echo=sys.stderr)
    saved = []

    def on_annotated(msg):
        path = annotated_dir / f"frame_{len(saved):03d}.png"
        cv2.imwrite(str(path), image_to_bgr(msg))
        saved.append(path)

    link = Link("fer_demo")
    results = link.listen(FaceEmotionArray, "/emotion", Answers(lambda msg: print(describe(msg), flush=True)), 50)
    link.listen(Image, "/emotion/annotated_image", on_annotated, 50)
    sent = 0
    try:
        if not node_process.wait_ready(60.0):
            print(f"fer_node did not start (exit code {node_process.poll()})", file=sys.stderr, flush=True)
        elif args.camera is not None:
            from fer_ros.node.conversions import bgr_to_image
            from std_msgs.msg import Header

            publisher = link.image_publisher(IMAGE_TOPIC)
            link.wait_for_node(node_process, publisher, "/emotion")
            for frame in camera_frames(args.camera, args.seconds):
                publisher.publish(bgr_to_image(frame, Header(stamp=link.node.get_clock().now().to_msg(),
                                                             frame_id="camera")))
                sent += 1
        else:
            sent = play(link.node, str(bag), rate=1.0, wait_for_subscribers=30.0, topics={topic})
        results.wait_count(sent, 10, node_process)
        time.sleep(0.5)
    finally:
        node_process.stop(timeout=10)
        link.close()
    faces = sum(len(r.faces) for r in results.messages)
    print(f"\n{len(results)} /emotion messages for {sent} frames sent, {faces} faces; "
          f"{len(saved)} annotated frames in {annotated_dir}/")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
