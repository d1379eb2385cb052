"""Shared fixtures. Run through `make test` (which sources env.sh) so fer_ros.msg imports."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fer_ros.node.dds import use_large_frame_transport

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SCENES = SHARED / "data" / "scenes"
FER_CSV = SHARED / "data" / "fer2013" / "fer2013.csv.gz"
YUNET = SHARED / "models" / "face_detection_yunet_2023mar.onnx"

# Keep this run's ROS traffic to itself (own domain id) and carry large frames (see README).
# ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST is not used: with it, Fast DDS here delivered nothing
# between two of our processes once the player published serialized messages.
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
# An empty model cache of our own, so `detector: auto` is Haar in every test (and every node it
# starts) unless the test sets FER_ROS_HOME itself.
os.environ["FER_ROS_HOME"] = tempfile.mkdtemp(prefix="fer_ros_home_")
atexit.register(shutil.rmtree, os.environ["FER_ROS_HOME"], True)
use_large_frame_transport()  # large frames and fast discovery for every node the tests start
# A shell starts a background job (`make test &`, `nohup ... &`) with SIGINT ignored, and every process
# it starts inherits that: `ros2 launch` then ignores the SIGINT the launch tests stop it with, as a
# user's ctrl-c or `timeout -s INT` would (it kept running; measured here). A handler of our own is
# reset to the default in each child at exec, so the processes the tests start get SIGINT as usual.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def need(path: Path) -> Path:
    """Return ``path`` or skip the test, saying which shared file is missing."""
    if not path.exists():
        pytest.skip(f"needs {path} (from ../shared, absent on this machine)")
    return path


def sourced_env(probe: str, script: Path, missing: str) -> dict:
    """The environment in which ``python -c probe`` works: this one, or this one plus what ``script``
    (an env.sh of ../shared) sets; skips the test when neither works (``missing`` says what is absent)."""
    env = dict(os.environ)
    if subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0:
        return env
    if not script.exists():
        pytest.skip(f"{missing} and {script} is absent")
    dump = subprocess.run(["bash", "-c", f". {script} && env -0"], env=env, capture_output=True,
                          check=True).stdout.decode()
    env = dict(line.split("=", 1) for line in dump.split("\0") if "=" in line)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"`{probe}` fails even with {script}: {done.stderr.strip()[-300:]}")
    return env


@pytest.fixture
def scenes() -> Path:
    return need(SCENES)


@pytest.fixture
def yunet_model() -> str:
    return str(need(YUNET))


@pytest.fixture
def fer_csv() -> Path:
    return need(FER_CSV)


@pytest.fixture(scope="session")
def two_faces():
    """Eileen Collins and Grace Hopper side by side (scikit-image, matplotlib), letterboxed to 640x480:
    Haar finds both. Node tests send it; it needs nothing from ../shared."""
    from fer_ros.core.image import letterbox
    from fer_ros.tools.photos import demo_photos

    return letterbox(demo_photos()["astronaut_and_hopper"])
