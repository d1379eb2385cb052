"""Write and read standard rosbag2 folders (metadata.yaml + sqlite3 or mcap) with `rosbags`.

Needs no ROS installation, so bags can be made on any machine; `ros2 bag play` replays them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from fer_ros.core.errors import ConfigError

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
# The image message types fer_node reads, by its input_transport
TRANSPORTS = {IMAGE_TYPE: "raw", COMPRESSED_TYPE: "compressed"}
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


def _header(stamp_ns: int, frame_id: str):
    """A rosbags std_msgs/Header stamped ``stamp_ns``."""
    types = TYPESTORE.types
    return types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
        frame_id=frame_id)


def image_message(bgr: np.ndarray, stamp_ns: int, frame_id: str = "camera"):
    """A rosbags sensor_msgs/Image (bgr8) of ``bgr`` stamped ``stamp_ns``."""
    types = TYPESTORE.types
    header = _header(stamp_ns, frame_id)
    height, width = bgr.shape[:2]
    return types[IMAGE_TYPE](header=header, height=height, width=width, encoding="bgr8", is_bigendian=0,
                             step=width * 3, data=np.ascontiguousarray(bgr).reshape(-1))


def compressed_image_message(bgr: np.ndarray, stamp_ns: int, frame_id: str = "camera"):
    """A rosbags sensor_msgs/CompressedImage (JPEG, as image_transport's compressed plugin sends) of
    ``bgr`` stamped ``stamp_ns``."""
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError(f"cannot encode a {bgr.shape} array as JPEG")
    return TYPESTORE.types[COMPRESSED_TYPE](header=_header(stamp_ns, frame_id), format="bgr8; jpeg compressed bgr8",
                                            data=jpeg.reshape(-1))


MESSAGES = {"raw": (IMAGE_TYPE, image_message), "compressed": (COMPRESSED_TYPE, compressed_image_message)}


def write_image_bag(path: str | Path, frames: Iterable[np.ndarray], topic: str = "/camera/image_raw",
                    rate_hz: float = 10.0, start_ns: int = 1_700_000_000 * 10**9, frame_id: str = "camera",
                    storage: str = "sqlite3", transport: str = "raw") -> int:
    """Write ``frames`` (BGR arrays) at ``rate_hz`` as sensor_msgs/Image (``transport`` raw) or as
    JPEG sensor_msgs/CompressedImage (compressed); return the frame count."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; rosbag2 writes into a new folder")
    msgtype, make_message = MESSAGES[transport]
    count = 0
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connection = writer.add_connection(topic, msgtype, typestore=TYPESTORE)
        for i, frame in enumerate(frames):
            stamp = start_ns + int(i * 1e9 / rate_hz)
            data = TYPESTORE.serialize_cdr(make_message(frame, stamp, frame_id), msgtype)
            writer.write(connection, stamp, data)
            count += 1
    return count


def topic_types(path: str | Path) -> dict[str, str]:
    """Every topic of the bag at ``path`` (a rosbag2 folder, or one .mcap or .db3 file) with its
    message type; ConfigError when it cannot be read."""
    try:
        with Reader(Path(path)) as reader:
            return {connection.topic: connection.msgtype for connection in reader.connections}
    except (FileNotFoundError, ReaderError) as error:
        raise ConfigError(f"cannot read the bag {path}: {error}") from error


def only_images(types: dict[str, str]) -> dict[str, str]:
    """The image topics (sensor_msgs/Image and CompressedImage) of ``{topic: msgtype}``."""
    return {name: msgtype for name, msgtype in types.items() if msgtype in TRANSPORTS}


def image_topics(path: str | Path) -> dict[str, str]:
    """``{topic: msgtype}`` of the bag's image topics."""
    return only_images(topic_types(path))


def image_topic(path: str | Path, topic: str | None = None, choose: str = "--topic <name>") -> tuple[str, str]:
    """The bag's image topic to play and its message type: ``topic`` when given, else the only one
    (``TRANSPORTS[msgtype]`` is fer_node's input_transport for it). ConfigError naming the topics when
    there is none, when there are several and no ``topic`` (it says to pick one with ``choose``), or
    when ``topic`` is not one of them."""
    types = topic_types(path)
    images = only_images(types)
    if not images:
        found = ", ".join(f"{name} ({msgtype})" for name, msgtype in sorted(types.items())) or "no topics"
        raise ConfigError(f"the bag {path} has no image topic ({' or '.join(TRANSPORTS)}); it has {found}")
    listed = ", ".join(f"{name} ({images[name]})" for name in sorted(images))
    if topic is None and len(images) > 1:
        raise ConfigError(f"the bag {path} has {len(images)} image topics: {listed}; pick one with {choose}")
    chosen = topic if topic is not None else next(iter(images))
    if chosen not in images:
        raise ConfigError(f"the bag {path} has no image topic {chosen}; its image topics: {listed}")
    return chosen, images[chosen]


def read_raw(path: str | Path, topics: set[str] | None = None) -> Iterator[tuple[str, str, int, bytes]]:
    """Yield ``(topic, msgtype, timestamp_ns, cdr_bytes)`` in recording order."""
    with Reader(Path(path)) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        for connection, timestamp, data in reader.messages(connections=connections):
            yield connection.topic, connection.msgtype, timestamp, bytes(data)
