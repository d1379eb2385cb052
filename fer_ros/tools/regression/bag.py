"""Read a regression bag: its image topics, the one to replay, the header stamps of its frames, and a
copy of one topic in a bag of its own (the player replays every image topic it finds)."""

from __future__ import annotations

from pathlib import Path

from fer_ros.core.errors import ConfigError
from fer_ros.tools import bags
from fer_ros.tools.bags import STORAGES, TYPESTORE, read_raw
from fer_ros.tools.regression import RegressionError

INPUTS = {"sensor_msgs/msg/Image": ("raw", "image"),  # msgtype -> (fer_node input_transport, its input topic)
          "sensor_msgs/msg/CompressedImage": ("compressed", "image/compressed")}


def stamp_key(sec: int, nanosec: int) -> str:
    """A header stamp as the text that keys frames in expectation and observation files."""
    return f"{sec}.{nanosec:09d}"


def rosbag2_folder(bag: str | Path) -> Path:
    """``bag`` as a Path; RegressionError unless it is a rosbag2 folder."""
    if not (Path(bag) / "metadata.yaml").exists():
        raise RegressionError(f"{bag} is not a rosbag2 folder (no metadata.yaml)")
    return Path(bag)


def image_topics(bag: str | Path) -> dict[str, str]:
    """``{topic: msgtype}`` of the raw and compressed image topics in ``bag``."""
    try:
        return bags.image_topics(rosbag2_folder(bag))
    except ConfigError as error:
        raise RegressionError(str(error)) from None


def choose_topic(bag: str | Path, topic: str | None) -> tuple[str, str]:
    """The image topic to replay and its message type: ``topic``, or the bag's only image topic."""
    try:
        return bags.image_topic(rosbag2_folder(bag), topic or None)
    except ConfigError as error:
        raise RegressionError(str(error)) from None


def bag_frames(bag: str | Path, topic: str) -> list[tuple[str, int]]:
    """``(header stamp key, recording timestamp in ns)`` of every message on ``topic``, in recording order;
    raises RegressionError when there is none."""
    frames = []
    for _, msgtype, timestamp, data in read_raw(bag, {topic}):
        stamp = TYPESTORE.deserialize_cdr(data, msgtype).header.stamp
        frames.append((stamp_key(stamp.sec, stamp.nanosec), timestamp))
    if not frames:
        raise RegressionError(f"{bag}: no messages on {topic}")
    return frames


def copy_topic(bag: str | Path, topic: str, out: Path) -> None:
    """Copy the messages of ``topic`` (CDR bytes and timestamps unchanged) into a new mcap bag ``out``."""
    from rosbags.rosbag2 import Writer

    with Writer(out, version=9, storage_plugin=STORAGES["mcap"]) as writer:
        connection = None
        for _, msgtype, timestamp, data in read_raw(bag, {topic}):
            if connection is None:
                connection = writer.add_connection(topic, msgtype, typestore=TYPESTORE)
            writer.write(connection, timestamp, data)
