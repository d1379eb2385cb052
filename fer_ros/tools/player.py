"""Replay image topics of a rosbag2 into a ROS graph (for machines without `ros2 bag play`).

    python -m fer_ros.tools.player BAG [--rate 1.0] [--remap /camera/image_raw:=/other]

Publishes the recorded CDR bytes unchanged (headers and stamps as recorded) with sensor-data QoS,
as a camera driver would.
"""

from __future__ import annotations

import argparse
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.tools.bags import read_raw

# After we see the subscriber, give its side of discovery time to see us, or the first
# best-effort messages are lost.
DISCOVERY_SETTLE_S = 0.5
MESSAGE_TYPES = {"sensor_msgs/msg/Image": Image, "sensor_msgs/msg/CompressedImage": CompressedImage}


def play(node: Node, bag: str, rate: float = 1.0, remap: dict[str, str] | None = None,
         wait_for_subscribers: float = 5.0, qos=qos_profile_sensor_data) -> int:
    """Publish every image message of ``bag``, paced by the recorded timestamps / ``rate``
    (``rate <= 0``: as fast as possible). Returns the number of messages published."""
    remap = remap or {}
    publishers = {}
    first_stamp = started = None
    count = 0
    for topic, msgtype, stamp, data in read_raw(bag, None):
        if msgtype not in MESSAGE_TYPES:
            continue
        topic = remap.get(topic, topic)
        if topic not in publishers:
            publishers[topic] = node.create_publisher(MESSAGE_TYPES[msgtype], topic, qos)
            deadline = time.monotonic() + wait_for_subscribers
            while publishers[topic].get_subscription_count() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(DISCOVERY_SETTLE_S)
        if first_stamp is None:
            first_stamp, started = stamp, time.monotonic()
        if rate > 0:
            delay = started + (stamp - first_stamp) / 1e9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        publishers[topic].publish(data)  # serialized CDR, exactly as recorded
        count += 1
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.player", description=__doc__.split("\n\n")[0])
    parser.add_argument("bag", help="rosbag2 folder (with metadata.yaml)")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor; 0 = as fast as possible")
    parser.add_argument("--remap", action="append", default=[], metavar="FROM:=TO", help="rename a topic")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a subscriber")
    args = parser.parse_args(argv)
    remap = dict(item.split(":=", 1) for item in args.remap)
    rclpy.init()
    node = rclpy.create_node("fer_bag_player")
    try:
        count = play(node, args.bag, args.rate, remap, args.wait)
        time.sleep(0.5)  # let the last message leave before the participant goes away
        print(f"played {count} messages from {args.bag}", flush=True)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
