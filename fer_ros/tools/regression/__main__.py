"""Command line of the regression bags: ``make``, ``bless`` and ``run`` (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from fer_ros.tools import regression
from fer_ros.tools.bags import write_image_bag
from fer_ros.tools.regression import RegressionError
from fer_ros.tools.regression.expectations import DEFAULT_LABEL_CONFIDENCE, EXPECTED_SUFFIX, bless
from fer_ros.tools.regression.frames import CLEAR_LABELS, RECORD_RATE, motion_frames, scene_frames, scene_photos
from fer_ros.tools.regression.replay import DEFAULT_FPS
from fer_ros.tools.regression.report import DEFAULT_IOU, run_regression

# The checkout's scene photos (the training package's shared_data names the same folder), named here:
# a robot installs no training package
DEV_SCENES = "../shared/data/scenes"


def make(args) -> int:
    """Write the bags ``args`` ask for and bless each (unless --no-bless)."""
    bags = []
    if "scenes" in args.kinds:
        scenes = Path(args.scenes or DEV_SCENES)
        photos = scene_photos(args.photos, scenes)
        if args.photos is None and not scenes.is_dir():
            print(f"note: {scenes} absent: the scenes bag holds only the packaged photos", flush=True)
        bags.append(("scenes", *scene_frames(photos, args.repeats)))
    if "motion" in args.kinds:
        bags.append(("motion", motion_frames(args.motion_frames), ["motion"] * args.motion_frames))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for storage in args.storage:
        for name, images, bag_sources in bags:
            bag = out / f"{name}_{storage}"
            if bag.exists():
                raise RegressionError(f"{bag} exists; remove it or choose another OUT")
            count = write_image_bag(bag, images, args.image_topic, args.rate, storage=storage)
            print(f"wrote {bag} ({storage}, {count} frames of 640x480 on {args.image_topic} at {args.rate:g} Hz)",
                  flush=True)
            if not args.no_bless:
                path = bless(bag, args.image_topic, args.fps, args.param, args.label_confidence,
                             sources=bag_sources, clear_labels=CLEAR_LABELS)
                print(f"blessed {path}", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.tools.regression",
                                     description=regression.__doc__.split("\n\n")[0],
                                     epilog="Exit codes: 0 PASS (or done), 1 FAIL, 2 cannot run.")
    commands = parser.add_subparsers(dest="command", required=True)

    def node_options(p, fps_default):
        blessed = fps_default is None  # ``run``: the blessed topic and fps are the defaults
        p.add_argument("--topic", help="image topic to replay (sensor_msgs/Image or CompressedImage); "
                                       "default: the bag's only image topic" + (" or the blessed one" if blessed else ""))
        p.add_argument("--fps", type=float, default=fps_default,
                       help=f"frames/s the bag is played at (default {DEFAULT_FPS:g}"
                            + (", or the blessed value)" if blessed else ")"))
        p.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE", help="fer_node parameter")

    p = commands.add_parser("make", help="write regression bags of photos and synthetic motion, and bless them")
    p.add_argument("out", help="folder for the bags and their expectations")
    p.add_argument("--storage", nargs="+", choices=["sqlite3", "mcap"], default=["sqlite3", "mcap"])
    p.add_argument("--kinds", nargs="+", choices=["scenes", "motion"], default=["scenes", "motion"],
                   help="which bags to make")
    p.add_argument("--scenes", help=f"folder of scene photos (*.jpg; default {DEV_SCENES}, a checkout's)")
    p.add_argument("--photos", nargs="+", metavar="NAME",
                   help="photos for the scenes bag: astronaut, grace_hopper, astronaut_and_hopper, cat or the stem "
                        "of a file in --scenes (default: all)")
    p.add_argument("--repeats", type=int, default=3, help="frames per photo")
    p.add_argument("--motion-frames", type=int, default=20, help="frames of the motion bag (at most 25)")
    p.add_argument("--rate", type=float, default=RECORD_RATE, help="recorded frame rate (Hz)")
    p.add_argument("--image-topic", default="/camera/image_raw")
    p.add_argument("--no-bless", action="store_true", help="write the bags only")
    p.add_argument("--label-confidence", type=float, default=DEFAULT_LABEL_CONFIDENCE,
                   help="smallest confidence of a recorded label")
    node_options(p, DEFAULT_FPS)

    p = commands.add_parser("bless", help="replay a bag through fer_node and write what it saw as the expectations")
    p.add_argument("bag", help="rosbag2 folder (metadata.yaml + sqlite3 or mcap)")
    p.add_argument("--expected", help=f"expectations file to write (default BAG{EXPECTED_SUFFIX})")
    p.add_argument("--label-confidence", type=float, default=DEFAULT_LABEL_CONFIDENCE,
                   help="record a label only where the node's confidence is at least this")
    p.add_argument("--no-labels", action="store_true", help="record no labels")
    node_options(p, DEFAULT_FPS)

    p = commands.add_parser("run", help="replay a bag through fer_node and report differences from its expectations")
    p.add_argument("bag", help="rosbag2 folder (metadata.yaml + sqlite3 or mcap)")
    p.add_argument("--expected", help=f"expectations file (default BAG{EXPECTED_SUFFIX})")
    p.add_argument("--iou", type=float, default=DEFAULT_IOU, help="smallest box overlap (IoU) that passes")
    p.add_argument("--save-observed", metavar="FILE", help="also write what the node published to FILE")
    p.add_argument("--observed", metavar="FILE", help="compare a file saved by --save-observed instead of replaying")
    node_options(p, None)

    args = parser.parse_args(argv)
    if args.command == "make" and (args.repeats < 1 or "motion" in args.kinds and args.motion_frames < 2):
        parser.error("--repeats must be >= 1 and --motion-frames >= 2")
    try:
        if args.command == "make":
            return make(args)
        if args.command == "bless":
            path = bless(args.bag, args.topic, args.fps, args.param, None if args.no_labels else args.label_confidence,
                         Path(args.expected) if args.expected else None)
            print(f"blessed {path}")
            return 0
        if not 0 < args.iou <= 1:
            parser.error("--iou must be in (0, 1]")
        report = run_regression(args.bag, Path(args.expected) if args.expected else None, args.topic, args.fps,
                                args.param, args.iou, args.observed and Path(args.observed),
                                args.save_observed and Path(args.save_observed))
        return 0 if report.passed else 1
    except RegressionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception:  # exit code 1 must mean FAIL, never a crash of this tool
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
