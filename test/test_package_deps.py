"""package.xml declares, as a rosdep key, every module that what colcon installs on a robot imports
(issue 37: `rosdep install` is all it takes); the few optional ones are listed with their reason."""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET

from conftest import REPO
from test_robot_install import DEVELOPMENT_ONLY

# top-level module -> the rosdep key that provides it
KEYS = {
    "cv2": "python3-opencv", "numpy": "python3-numpy", "yaml": "python3-yaml",
    "onnxruntime": "python3-onnxruntime-pip", "rosbags": "python3-rosbags-pip", "psutil": "python3-psutil",
    "rclpy": "rclpy", "sensor_msgs": "sensor_msgs", "std_msgs": "std_msgs", "diagnostic_msgs": "diagnostic_msgs",
    "lifecycle_msgs": "lifecycle_msgs", "rcl_interfaces": "rcl_interfaces", "builtin_interfaces": "builtin_interfaces",
    "ament_index_python": "ament_index_python", "launch": "launch", "launch_ros": "launch_ros",
    "hri_msgs": "hri_msgs",
}
# Imported only on a path that says how to get them when they are missing
OPTIONAL = {
    "tensorflow": "classifier_backend deepface only (its error says to install TensorFlow)",
    "keras": "classifier_backend deepface only",
    "skimage": "the packaged photos of the regression tool's `make` (fer_ros.tools.photos)",
    "matplotlib": "the packaged photos of the regression tool's `make` (fer_ros.tools.photos)",
}
# What colcon installs and a robot runs: the benchmarks (fer_ros/bench) and the training package are
# run from the checkout
INSTALLED = [REPO / "fer_ros" / "core", REPO / "fer_ros" / "node", REPO / "fer_ros" / "tools",
             REPO / "fer_ros" / "cli.py", REPO / "launch", REPO / "scripts"]


def imported_modules() -> dict[str, str]:
    """Top-level module -> a file that imports it, for every file under INSTALLED that a robot gets
    (not the development-only ones, test_robot_install.DEVELOPMENT_ONLY)."""
    files = [p for root in INSTALLED for p in ([root] if root.is_file() else root.rglob("*"))
             if p.is_file() and (p.suffix == ".py" or p.parent.name == "scripts")
             and not str(p.relative_to(REPO)).startswith(DEVELOPMENT_ONLY)]
    found = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return found


def declared_keys() -> set[str]:
    root = ET.parse(REPO / "package.xml").getroot()
    return {e.text.strip() for e in root if e.tag in ("depend", "exec_depend", "build_export_depend")}


def test_every_runtime_import_is_a_declared_rosdep_key():
    third_party = {m: f for m, f in imported_modules().items()
                   if m not in sys.stdlib_module_names and m not in ("fer_ros", "__future__")}
    assert "rosbags" in third_party and "onnxruntime" in third_party  # the scan sees the tools and the core
    unknown = {m: f for m, f in third_party.items() if m not in KEYS and m not in OPTIONAL}
    assert not unknown, f"imported but neither mapped to a rosdep key nor optional: {unknown}"
    missing = {m: KEYS[m] for m in third_party if m in KEYS and KEYS[m] not in declared_keys()}
    assert not missing, f"package.xml does not declare {missing}"


def test_no_pip_opencv_or_numpy_on_the_robot_path():
    """rosdep keys for OpenCV and numpy are the distribution's packages, never a -pip key."""
    keys = declared_keys()
    assert {"python3-opencv", "python3-numpy"} <= keys
    assert not {k for k in keys if k.endswith("-pip") and ("opencv" in k or "numpy" in k)}
