"""The demo on a robot's own recording (issue 37, item 7): it finds the bag's image topic, raw or
compressed, sets fer_node's input to match and plays that topic only; several image topics or none
stop it with an error naming the topics."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from rosbags.rosbag2 import Writer

from fer_ros.core.image import letterbox
from fer_ros.tools.bags import COMPRESSED_TYPE, IMAGE_TYPE, MESSAGES, STORAGES, TYPESTORE
from fer_ros.tools.photos import demo_photos

COLOR = "/camera/color/image_raw"
COMPRESSED = COLOR + "/compressed"
STATE = "/robot/state"  # a non-image topic, as robots record many
START_NS = 1_700_000_000 * 10**9
RATE_HZ = 10.0
SUMMARY = re.compile(r"(\d+) /emotion messages for (\d+) frames sent, (\d+) faces")


def frames(*names: str) -> list:
    """The demo photos ``names`` (scikit-image's and matplotlib's), letterboxed to 640x480."""
    photos = demo_photos()
    return [letterbox(photos[name]) for name in names]


def image_stream(transport: str, bgr_frames: list) -> tuple[str, list]:
    """(message type, messages stamped at RATE_HZ) of ``bgr_frames`` as raw or JPEG-compressed images."""
    msgtype, make = MESSAGES[transport]
    return msgtype, [make(bgr, START_NS + int(i * 1e9 / RATE_HZ), "camera_color_optical_frame")
                     for i, bgr in enumerate(bgr_frames)]


def state_stream(count: int = 3) -> tuple[str, list]:
    """(message type, messages) of a std_msgs/String topic."""
    string = TYPESTORE.types["std_msgs/msg/String"]
    return "std_msgs/msg/String", [string(data=f"state {i}") for i in range(count)]


def write_bag(path, topics: dict[str, tuple[str, list]], storage: str = "mcap") -> None:
    """A rosbag2 at ``path`` with ``topics`` (name -> (message type, messages)), the i-th message of
    each topic recorded at START_NS + i / RATE_HZ, as a robot's recording interleaves its topics."""
    records = []
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        for topic, (msgtype, messages) in topics.items():
            connection = writer.add_connection(topic, msgtype, typestore=TYPESTORE)
            records += [(START_NS + int(i * 1e9 / RATE_HZ), connection, TYPESTORE.serialize_cdr(msg, msgtype))
                        for i, msg in enumerate(messages)]
        for stamp, connection, data in sorted(records, key=lambda record: record[0]):
            writer.write(connection, stamp, data)


def run_demo(bag, out, *args: str) -> subprocess.CompletedProcess:
    """``python -m fer_ros.tools.demo --bag BAG`` with every face reported at once (confirm_frames 1)."""
    return subprocess.run([sys.executable, "-m", "fer_ros.tools.demo", "--bag", str(bag), "--out", str(out),
                           "--param", "confirm_frames:=1", *args], capture_output=True, text=True, timeout=180)


def summary(demo: subprocess.CompletedProcess) -> tuple[int, int, int]:
    """(/emotion messages, frames sent, faces) from the demo's last line."""
    match = SUMMARY.search(demo.stdout)
    assert match, demo.stdout + demo.stderr
    return tuple(int(group) for group in match.groups())


def test_demo_plays_a_robots_compressed_mcap_recording_without_a_topic_argument(tmp_path):
    bag = tmp_path / "robot_bag"
    write_bag(bag, {COMPRESSED: image_stream("compressed", frames("grace_hopper", "astronaut") * 2),
                    STATE: state_stream()})

    demo = run_demo(bag, tmp_path / "out")

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"playing {COMPRESSED} ({COMPRESSED_TYPE})" in demo.stdout
    assert "input=compressed/" in demo.stderr  # the node's ready line
    assert summary(demo) == (4, 4, 4), demo.stdout + demo.stderr  # one face in each photo
    assert len(list((tmp_path / "out" / "annotated").glob("*.png"))) == 4


def test_demo_on_two_image_topics_names_both_and_topic_chooses_one(tmp_path):
    bag = tmp_path / "two_topics"
    write_bag(bag, {COMPRESSED: image_stream("compressed", frames("cat", "cat")),
                    COLOR: image_stream("raw", frames("grace_hopper", "astronaut", "grace_hopper")),
                    STATE: state_stream()}, storage="sqlite3")

    refused = run_demo(bag, tmp_path / "out")
    assert refused.returncode != 0
    assert "2 image topics" in refused.stderr and "TOPIC=<name>" in refused.stderr, refused.stderr
    assert f"{COLOR} ({IMAGE_TYPE})" in refused.stderr and f"{COMPRESSED} ({COMPRESSED_TYPE})" in refused.stderr
    assert "emotion messages" not in refused.stdout  # it stopped before starting the node

    unknown = run_demo(bag, tmp_path / "out", "--topic", STATE)
    assert unknown.returncode != 0
    assert f"has no image topic {STATE}" in unknown.stderr and COLOR in unknown.stderr, unknown.stderr

    chosen = run_demo(bag, tmp_path / "out", "--topic", COLOR)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "input=raw/" in chosen.stderr
    assert summary(chosen) == (3, 3, 3), chosen.stdout + chosen.stderr  # the faces, none of the cat frames


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_demo_on_a_bag_without_images_names_what_it_has(tmp_path, storage):
    bag = tmp_path / f"no_images_{storage}"
    write_bag(bag, {STATE: state_stream(), "/odom_raw": state_stream()}, storage=storage)

    demo = run_demo(bag, tmp_path / "out")

    assert demo.returncode != 0
    assert "has no image topic" in demo.stderr and COMPRESSED_TYPE in demo.stderr, demo.stderr
    assert f"{STATE} (std_msgs/msg/String)" in demo.stderr and "/odom_raw (std_msgs/msg/String)" in demo.stderr
    assert "emotion messages" not in demo.stdout
