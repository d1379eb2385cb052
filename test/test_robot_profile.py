"""The CLI in the robot profile (the distribution's OpenCV 4.6.0 and numpy, `make robot-test`) finds the
same faces as in this environment (PyPI's newest OpenCV), with Haar and with YuNet: on the shipped demo
photos and the shared scene photos, each face's box centre within 5% of its side and at least 90% of
the labels the same (issue 37's targets; docs/robot.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import pytest

from conftest import REPO, SCENES, need

ROBOT_PYTHON = REPO / ".venv-noble" / "bin" / "python"
FACE = re.compile(r"^(face_\d+) (\w+) [\d.]+ box=(\d+),(\d+),(\d+),(\d+) ")


def robot_python() -> Path:
    if not ROBOT_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ROBOT_PYTHON} is missing: `make test` builds it first (make robot-test)")
        pytest.skip(f"the robot profile {ROBOT_PYTHON} is not built: make robot-test")
    return ROBOT_PYTHON


def faces(python: str, photo: Path, detector: list[str], robot: bool) -> list[tuple[str, float, float, int]]:
    """(label, box centre x, y, side) of each face the CLI prints for ``photo``."""
    env = dict(os.environ)
    if robot:  # the source tree, as the robot profile runs it; nothing of this environment's
        env = {key: value for key, value in env.items() if key not in ("PYTHONSAFEPATH", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([python, "-m", "fer_ros.cli", str(photo), "--out", str(photo.with_suffix(".out.png")),
                           *detector], capture_output=True, text=True, env=env, cwd=photo.parent, timeout=120)
    assert done.returncode == 0, f"{python} on {photo.name}: {done.stderr[-500:]}"
    found = []
    for line in done.stdout.splitlines():
        match = FACE.match(line)
        assert match, line
        x, y, w, h = map(int, match.groups()[2:])
        found.append((match.group(2), x + w / 2, y + h / 2, max(w, h)))
    return found


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    """The demo photos this project ships through scikit-image and matplotlib, and the shared scenes."""
    from fer_ros.tools.photos import demo_photos

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for name, image in demo_photos().items():
        cv2.imwrite(str(folder / f"{name}.png"), image)
        paths.append(folder / f"{name}.png")
    for path in sorted(need(SCENES).glob("*.jpg")):
        (folder / path.name).write_bytes(path.read_bytes())
        paths.append(folder / path.name)
    return paths


@pytest.mark.parametrize("backend", ["haar", "yunet"])
def test_the_robots_opencv_finds_the_same_faces_and_labels(backend, photos, yunet_model):
    robot = str(robot_python())
    detector = ["--detector", backend] + (["--yunet-model", yunet_model] if backend == "yunet" else [])
    with ThreadPoolExecutor(2) as pool:
        ours = list(pool.map(lambda p: faces(sys.executable, p, detector, robot=False), photos))
        theirs = list(pool.map(lambda p: faces(robot, p, detector, robot=True), photos))
    total = same_label = 0
    for path, here, there in zip(photos, ours, theirs):
        assert len(here) == len(there), f"{path.name}: {len(here)} faces here, {len(there)} on the robot's OpenCV"
        for face in here:  # the robot's face nearest to each of ours
            other = min(there, key=lambda t: (t[1] - face[1]) ** 2 + (t[2] - face[2]) ** 2)
            shift = max(abs(other[1] - face[1]), abs(other[2] - face[2]))
            assert shift <= 0.05 * face[3], f"{path.name}: centre moved {shift:.1f} px on a {face[3]} px face"
            same_label += other[0] == face[0]
            total += 1
    assert total >= 20, total
    assert same_label >= 0.9 * total, f"{same_label} of {total} labels the same"
