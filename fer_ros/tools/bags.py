"""Write and read standard rosbag2 folders (metadata.yaml + sqlite3 or mcap) with `rosbags`.

Needs no ROS installation, so bags can be made on any machine; `ros2 bag play` replays them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
IMAGE_TYPE = "sensor_msgs/msg/Image"
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


def image_message(bgr: np.ndarray, stamp_ns: int, frame_id: str = "camera"):
    """A rosbags sensor_msgs/Image (bgr8) of ``bgr`` stamped ``stamp_ns``."""
    types = TYPESTORE.types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
        frame_id=frame_id)
    height, width = bgr.shape[:2]
    return types[IMAGE_TYPE](header=header, height=height, width=width, encoding="bgr8", is_bigendian=0,
                             step=width * 3, data=np.ascontiguousarray(bgr).reshape(-1))


def write_image_bag(path: str | Path, frames: Iterable[np.ndarray], topic: str = "/camera/image_raw",
                    rate_hz: float = 10.0, start_ns: int = 1_700_000_000 * 10**9, frame_id: str = "camera",
                    storage: str = "sqlite3") -> int:
    """Write ``frames`` (BGR arrays) as sensor_msgs/Image at ``rate_hz``; return the frame count."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; rosbag2 writes into a new folder")
    count = 0
    with Writer(path, version=9, storage_plugin=STORAGES[storage]) as writer:
        connection = writer.add_connection(topic, IMAGE_TYPE, typestore=TYPESTORE)
        for i, frame in enumerate(frames):
            stamp = start_ns + int(i * 1e9 / rate_hz)
            data = TYPESTORE.serialize_cdr(image_message(frame, stamp, frame_id), IMAGE_TYPE)
            writer.write(connection, stamp, data)
            count += 1
    return count


def read_raw(path: str | Path, topics: set[str] | None = None) -> Iterator[tuple[str, str, int, bytes]]:
    """Yield ``(topic, msgtype, timestamp_ns, cdr_bytes)`` in recording order."""
    with Reader(Path(path)) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        for connection, timestamp, data in reader.messages(connections=connections):
            yield connection.topic, connection.msgtype, timestamp, bytes(data)
