"""The install carries what a robot needs (issue 29): a colcon build as a robot makes it (no
FER_ROS_DEVELOPMENT) into a temporary folder has the executables, launch, config, the models and every
framing calibration (the crops of ROS4HRI's detector included), and neither fer_models/jobs (a one-off
job for a lent GPU machine) nor anything from test/. About 20-40 s; skips without colcon."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def test_a_robot_build_installs_the_node_and_leaves_development_files_out(tmp_path):
    colcon = shutil.which("colcon") or str(Path(sys.executable).parent / "colcon")
    if not os.access(colcon, os.X_OK):
        pytest.skip("colcon is not installed here")
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = sys.prefix  # the ROS wheels of this environment, as make build uses them
    done = subprocess.run(
        [colcon, "--log-base", str(tmp_path / "log"), "build", "--base-paths", str(REPO), "--build-base",
         str(tmp_path / "build"), "--install-base", str(tmp_path / "install"), "--cmake-args",
         f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    prefix = tmp_path / "install" / "fer_ros"
    installed = {str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file()}
    for executable in ("fer_node", "fer_lifecycle_node", "fer_hri_recognizer", "fetch_models"):
        assert f"lib/fer_ros/{executable}" in installed
    site = next(p for p in (prefix / "lib").glob("python3*/site-packages"))
    for module in ("fer_ros/node/hri.py", "fer_ros/node/hri_recognizer.py", "fer_ros/core/crops.py",
                   "fer_ros/core/rep155.py", "fer_ros/models/fer_default.onnx",
                   "fer_ros/core/detectors/hri_face_detect_framing.json",
                   "fer_ros/core/detectors/hri_face_detect_aligned_framing.json", "fer_models/calibrate_framing.py"):
        assert (site / module).is_file(), module
    assert "share/fer_ros/launch/fer.launch.py" in installed and "share/fer_ros/config/fer.yaml" in installed
    assert not (site / "fer_models" / "jobs").exists()
    assert not [name for name in installed if "/test/" in name or "hri_helpers" in name or "conftest" in name]
