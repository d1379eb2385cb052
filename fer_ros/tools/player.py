"""Replay image topics of a rosbag2 into a ROS graph (for machines without `ros2 bag play`).

    python -m fer_ros.tools.player BAG [--rate 1.0] [--remap /camera/image_raw:=/other]

Publishes the recorded CDR bytes unchanged (headers and stamps as recorded) with sensor-data QoS,
as a camera driver would.
"""

from __future__ import annotations

import argparse
import time

import rclpy

from fer_ros.tools.harness import play


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
