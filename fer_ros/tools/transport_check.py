"""Check which Fast DDS transport settings can talk to each other, with two real processes.

    python -m fer_ros.tools.transport_check [--pairs default:large,large:profile] [--frames 180] [--small]

For each PUBLISHER:SUBSCRIBER pair of settings, a subscriber process starts with the second setting
and, 1 s later, a publisher process with the first sends ``--frames`` 640x480 rgb8 images (or, with
``--small``, bare headers) best effort at 30 Hz. Prints how many arrived and when the first one did.
Settings: ``default`` (neither variable set), ``large`` (``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA``),
``profile`` (``FASTDDS_DEFAULT_PROFILES_FILE``: this package's ``fastdds_large_frames.xml``).
Each pair runs in its own ROS domain, so other nodes on the machine neither see nor disturb it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

from fer_ros.node.dds import PROFILE, VARIABLES

SETTINGS = {
    "default": {},
    "large": {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    "profile": {"FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)},
}
RATE_HZ = 30.0
ALL_PAIRS = ",".join(f"{a}:{b}" for a in SETTINGS for b in SETTINGS)


def publish(frames: int, small: bool) -> None:
    import numpy as np
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    rclpy.init()
    node = rclpy.create_node("transport_check_publisher")
    if small:
        publisher, message = node.create_publisher(Header, "transport_check", qos_profile_sensor_data), Header()
    else:
        publisher = node.create_publisher(Image, "transport_check", qos_profile_sensor_data)
        message = Image(height=480, width=640, encoding="rgb8", step=640 * 3,
                        data=np.random.default_rng(0).integers(0, 256, 480 * 640 * 3, np.uint8).tobytes())
    time.sleep(0.5)
    for _ in range(frames):
        publisher.publish(message)
        time.sleep(1 / RATE_HZ)
    node.destroy_node()
    rclpy.shutdown()


def subscribe(seconds: float, small: bool) -> None:
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    rclpy.init()
    node = rclpy.create_node("transport_check_subscriber")
    arrivals: list[float] = []
    started = time.monotonic()
    node.create_subscription(Header if small else Image, "transport_check",
                             lambda _msg: arrivals.append(time.monotonic() - started), qos_profile_sensor_data)
    while time.monotonic() - started < seconds:
        rclpy.spin_once(node, timeout_sec=0.1)
    print(json.dumps({"received": len(arrivals), "first_s": round(arrivals[0], 2) if arrivals else None}))
    node.destroy_node()
    rclpy.shutdown()


def check_pair(publisher: str, subscriber: str, frames: int, small: bool) -> dict:
    """Run one publisher/subscriber pair in a fresh ROS domain; the subscriber's JSON result."""
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    base["ROS_DOMAIN_ID"] = str(random.randrange(100, 200))
    command = [sys.executable, "-m", "fer_ros.tools.transport_check"] + (["--small"] if small else [])
    seconds = frames / RATE_HZ + 4
    sub = subprocess.Popen(command + ["--role", "sub", "--seconds", str(seconds)],
                           env={**base, **SETTINGS[subscriber]}, stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    subprocess.run(command + ["--role", "pub", "--frames", str(frames)], env={**base, **SETTINGS[publisher]},
                   check=True, timeout=seconds + 30)
    out, _ = sub.communicate(timeout=seconds + 30)
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.transport_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", default=ALL_PAIRS,
                        help=f"comma-separated PUBLISHER:SUBSCRIBER settings from {', '.join(SETTINGS)} "
                             "(default: all nine)")
    parser.add_argument("--frames", type=int, default=180, help="messages to publish at 30 Hz")
    parser.add_argument("--small", action="store_true", help="publish bare std_msgs/Header instead of images")
    parser.add_argument("--role", choices=("pub", "sub"), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "pub":
        publish(args.frames, args.small)
        return 0
    if args.role == "sub":
        subscribe(args.seconds, args.small)
        return 0

    pairs = [pair.split(":") for pair in args.pairs.split(",")]
    unknown = {name for pair in pairs for name in pair} - set(SETTINGS)
    if unknown or any(len(pair) != 2 for pair in pairs):
        parser.error(f"--pairs takes PUBLISHER:SUBSCRIBER from {', '.join(SETTINGS)}; got {args.pairs!r}")
    what = "headers" if args.small else "640x480 rgb8 images"
    print(f"{args.frames} {what}, best effort at {RATE_HZ:g} Hz; the subscriber starts 1 s before the "
          "publisher; first: seconds from the subscriber's start to the first arrival")
    print(f"{'publisher':<10} {'subscriber':<10} {'arrived':>9} {'first':>12}")
    for publisher, subscriber in pairs:
        result = check_pair(publisher, subscriber, args.frames, args.small)
        first = "-" if result["first_s"] is None else f"{result['first_s']:.2f} s"
        print(f"{publisher:<10} {subscriber:<10} {result['received']:>4} / {args.frames:<3} {first:>11}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
