"""One place that picks the Fast DDS transport: the node describes it in its warnings, our tools and tests set it.

Fast DDS's default transports lose most large best-effort image frames, and ``LARGE_DATA`` carries
them but adds 2-3 s to discovery. On one machine the profile ``fastdds_large_frames.xml`` (UDP for
discovery, shared memory with large segments for data) does both: frames arrive and discovery takes
about half a second. A choice the user already made (either variable set) is kept.
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILE = Path(__file__).with_name("fastdds_large_frames.xml")
VARIABLES = ("FASTDDS_BUILTIN_TRANSPORTS", "FASTDDS_DEFAULT_PROFILES_FILE")


def use_large_frame_transport(environ=os.environ) -> str:
    """Point ``environ`` at our profile unless a transport is already chosen; describe the choice."""
    if not any(environ.get(name) for name in VARIABLES):
        environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    return describe(environ)


def describe(environ=os.environ) -> str:
    return ", ".join(f"{name}={environ.get(name) or '(unset)'}" for name in VARIABLES)
