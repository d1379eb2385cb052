"""The middleware, in one place: the Fast DDS transport our tools and tests set, and what the node's
warnings say about the middleware (RMW) in use.

Fast DDS's default transports lose most large best-effort image frames, and ``LARGE_DATA`` carries
them but adds 2-3 s to discovery. On one machine the profile ``fastdds_large_frames.xml`` (UDP for
discovery, shared memory with large segments for data) does both: frames arrive and discovery takes
about half a second. A choice the user already made (either variable set) is kept.

Under another RMW the Fast DDS variables do nothing, so the warnings name the RMW in use and give
its own advice (Cyclone DDS: socket receive buffers; docs/fast_dds.md has the sources).
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILE = Path(__file__).with_name("fastdds_large_frames.xml")
VARIABLES = ("FASTDDS_BUILTIN_TRANSPORTS", "FASTDDS_DEFAULT_PROFILES_FILE")
FAST_DDS_2_PROFILES_VARIABLE = "FASTRTPS_DEFAULT_PROFILES_FILE"  # the name Fast DDS 2.x (Jazzy) reads
CHOICES = VARIABLES + (FAST_DDS_2_PROFILES_VARIABLE,)  # any of them set: the user chose a transport
FAST_DDS = ("rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")
CYCLONE_DDS = "rmw_cyclonedds_cpp"
CYCLONE_VARIABLES = ("CYCLONEDDS_URI",)
DEFAULT_RMW = "rmw_fastrtps_cpp"  # ROS 2's default when RMW_IMPLEMENTATION is unset


# ROS 2 distributions whose Fast DDS is 2.x, which reads the profile from the older variable's name
# (Kilted and later ship Fast DDS 3, which reads FASTDDS_DEFAULT_PROFILES_FILE and warns at the old one)
FAST_DDS_2_DISTROS = ("humble", "iron", "jazzy")


def profiles_variable(environ=os.environ) -> str:
    """The variable the Fast DDS of this ROS 2 (``ROS_DISTRO``; unset: this checkout's Kilted wheels)
    reads its profiles file from."""
    fast_dds_2 = environ.get("ROS_DISTRO", "").lower() in FAST_DDS_2_DISTROS
    return FAST_DDS_2_PROFILES_VARIABLE if fast_dds_2 else "FASTDDS_DEFAULT_PROFILES_FILE"


def use_large_frame_transport(environ=os.environ) -> str:
    """Point ``environ`` at our profile, under the name its Fast DDS reads, unless a transport is
    already chosen; describe the choice."""
    if not any(environ.get(name) for name in CHOICES):
        environ[profiles_variable(environ)] = str(PROFILE)
    return describe(environ, CHOICES)


def describe(environ=os.environ, variables=VARIABLES) -> str:
    """``NAME=value`` of each of ``variables`` (the Fast DDS transport ones by default)."""
    return ", ".join(f"{name}={environ.get(name) or '(unset)'}" for name in variables)


def rmw_in_use(environ=os.environ) -> str:
    """This process's RMW implementation, e.g. ``rmw_fastrtps_cpp``: rclpy's answer, else
    ``RMW_IMPLEMENTATION``, else ROS 2's default."""
    try:
        from rclpy.utilities import get_rmw_implementation_identifier
        return get_rmw_implementation_identifier()
    except (ImportError, RuntimeError):  # no rclpy, or no RMW library it can load
        return environ.get("RMW_IMPLEMENTATION") or DEFAULT_RMW


def middleware_settings(rmw: str, environ=os.environ) -> str:
    """The RMW and the variables that set its transport, as a warning shows them (Fast DDS 2.x's
    profile variable only when it is set)."""
    if rmw in FAST_DDS:
        jazzy_profile = (FAST_DDS_2_PROFILES_VARIABLE,) if environ.get(FAST_DDS_2_PROFILES_VARIABLE) else ()
        variables = VARIABLES + jazzy_profile
    else:
        variables = CYCLONE_VARIABLES if rmw == CYCLONE_DDS else ()
    return ", ".join([rmw, describe(environ, variables)]) if variables else rmw


def discovery_advice(rmw: str) -> str:
    """Why a publisher may stay out of sight under ``rmw``: the end of the warning that sees none."""
    if rmw in FAST_DDS:
        return ("processes with FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA and processes without it do not see "
                "each other.")
    return ("ROS 2 does not guarantee that nodes on different RMW implementations talk to each other "
            "(set RMW_IMPLEMENTATION alike for the camera driver and this node).")


def large_frame_advice(rmw: str) -> str:
    """Why a best-effort subscription may get no frames from a publisher it sees, under ``rmw``."""
    if rmw in FAST_DDS:
        return ("a best-effort subscription gets no large frames over Fast DDS's default transport (README: "
                "'Fast DDS and large images').")
    if rmw == CYCLONE_DDS:
        return ("Cyclone DDS sends a large frame in many fragments over UDP, which the kernel's default "
                "socket receive buffer may not hold (a best-effort frame missing one is lost): raise "
                "net.core.rmem_max and Internal/SocketReceiveBufferSize in the CYCLONEDDS_URI file "
                "(docs/fast_dds.md).")
    return "a best-effort subscription may lose large frames unless the middleware is set up for them."
