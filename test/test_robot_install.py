"""A robot's colcon build (no FER_ROS_DEVELOPMENT) into a temporary folder installs what a robot runs and
nothing of the lab (docs/layout.md): the executables, launch, config, the core, the node (ROS4HRI's
recognizer and every framing calibration included), the CLI, the tools a user runs against the node and
the model files that `model:` loads; not fer_models, the benchmarks, the checkout's own tools, the model
cards or anything from test/. Every fer_ros module the installed code imports is installed, and the CLI
and fer_node run from that install alone. The build takes about 15-40 s; skips without colcon."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# What the checkout's `make build` (-DFER_ROS_DEVELOPMENT=ON) installs and a robot's build leaves out
DEVELOPMENT_ONLY = ("fer_ros/bench/", "fer_ros/tools/demo.py", "fer_ros/tools/params_file.py",
                    "fer_ros/tools/hri_graph.py", "fer_ros/models/MODEL_CARD.md", "fer_ros/models/MODEL_CARD_fast.md",
                    "fer_ros/models/fer_default.onnx", "fer_ros/models/fer_default.json")


@pytest.fixture(scope="module")
def robot(tmp_path_factory) -> Path:
    """The install prefix (``install/fer_ros``) of a robot's build of this checkout."""
    colcon = shutil.which("colcon") or str(Path(sys.executable).parent / "colcon")
    if not os.access(colcon, os.X_OK):
        pytest.skip("colcon is not installed here")
    base = tmp_path_factory.mktemp("robot")
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = sys.prefix  # the ROS wheels of this environment, as make build uses them
    done = subprocess.run(
        [colcon, "--log-base", str(base / "log"), "build", "--base-paths", str(REPO), "--build-base",
         str(base / "build"), "--install-base", str(base / "install"), "--cmake-args",
         f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
        cwd=base, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base / "install" / "fer_ros"


def site_packages(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3*/site-packages"))


def source_files() -> list[str]:
    """Every file of the fer_ros and fer_models source folders, relative to the checkout."""
    return sorted(str(p.relative_to(REPO)) for root in ("fer_ros", "fer_models") for p in (REPO / root).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def test_a_robot_build_installs_the_node_and_leaves_the_lab_out(robot):
    installed = {str(p.relative_to(robot)) for p in robot.rglob("*") if p.is_file()}
    for executable in ("fer_node", "fer_lifecycle_node", "fer_hri_recognizer", "fetch_models"):
        assert f"lib/fer_ros/{executable}" in installed
    assert "share/fer_ros/launch/fer.launch.py" in installed and "share/fer_ros/config/fer.yaml" in installed
    site = site_packages(robot)
    for module in ("fer_ros/cli.py", "fer_ros/node/hri.py", "fer_ros/node/hri_recognizer.py", "fer_ros/core/crops.py",
                   "fer_ros/core/rep155.py", "fer_ros/tools/fetch_models.py", "fer_ros/tools/player.py",
                   "fer_ros/tools/regression/__main__.py", "fer_ros/core/detectors/hri_face_detect_framing.json",
                   "fer_ros/core/detectors/hri_face_detect_aligned_framing.json"):
        assert (site / module).is_file(), module
    assert not (site / "fer_models").exists()
    assert not [name for name in installed if "/test/" in name or "hri_helpers" in name or "conftest" in name]


def test_every_source_file_is_installed_on_a_robot_or_named_development_only(robot):
    """A new file under fer_ros/ is either in CMakeLists.txt's robot lists or development-only here."""
    site = site_packages(robot)
    for name in source_files():
        lab = name.startswith("fer_models/") or name.startswith(DEVELOPMENT_ONLY)
        assert (site / name).is_file() != lab, (
            f"{name}: {'installed on a robot but' if lab else 'neither installed on a robot nor'} named "
            "development-only (CMakeLists.txt and DEVELOPMENT_ONLY here; docs/layout.md)")


def test_the_models_installed_are_those_the_model_parameter_loads(robot):
    """`model: default` opens fer_default_single.onnx (the pass every classification runs; the
    mirror-averaged export stays in the checkout); `model: fast` fer_fast.onnx; each with its sidecar,
    nothing else."""
    from fer_ros.core.classifiers.onnx import SHIPPED_MODELS
    from fer_ros.core.sidecar import ModelSpec, sidecar_path

    loaded = set()
    for path in SHIPPED_MODELS.values():
        loaded |= {path.name, sidecar_path(path).name}
        single = ModelSpec.from_file(sidecar_path(path)).single_pass
        if single:
            loaded |= {single, sidecar_path(single).name}
    assert {p.name for p in (site_packages(robot) / "fer_ros" / "models").iterdir()} == loaded


def imported_fer_modules(path: Path) -> set[str]:
    """``fer_ros...`` and ``fer_models...`` modules (and names imported from them) that ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] in ("fer_ros", "fer_models")}


def test_what_the_installed_code_imports_is_installed(robot):
    """Every fer_ros module that an installed module, script or launch file imports (at its top or in
    a function) is installed: a name imported from a package is a module when the checkout has one."""
    site = site_packages(robot)
    files = [p for p in site.joinpath("fer_ros").rglob("*.py") if "msg" not in p.relative_to(site).parts]
    files += [p for p in (robot / "lib" / "fer_ros").iterdir()] + list((robot / "share" / "fer_ros" / "launch").glob("*.py"))
    missing = set()
    for path in files:
        for name in imported_fer_modules(path):
            relative = Path(*name.split("."))
            in_checkout = (REPO / relative).is_dir() or (REPO / relative).with_suffix(".py").is_file()
            if in_checkout and not ((site / relative).is_dir() or (site / relative).with_suffix(".py").is_file()):
                missing.add(f"{name} (imported by {path.relative_to(robot)})")
    assert not missing, sorted(missing)


def robot_env(prefix: Path) -> dict:
    """This environment with the robot's install in place of the checkout's install/ (local_setup.sh's
    variables), fer_node on PATH, the Fast DDS profile that install carries."""
    env = dict(os.environ)
    ours = str(REPO / "install")
    for name, value in (("PYTHONPATH", site_packages(prefix)), ("AMENT_PREFIX_PATH", prefix),
                        ("CMAKE_PREFIX_PATH", prefix), ("LD_LIBRARY_PATH", prefix / "lib"),
                        ("COLCON_PREFIX_PATH", prefix.parent), ("PATH", prefix / "lib" / "fer_ros")):
        kept = [p for p in env.get(name, "").split(os.pathsep) if p and not p.startswith(ours)]
        env[name] = os.pathsep.join([str(value)] + kept)
    if "FASTDDS_DEFAULT_PROFILES_FILE" in env:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(prefix / "share/fer_ros/config/fastdds_large_frames.xml")
    env["PYTHONSAFEPATH"] = "1"  # never the folder a command runs in
    return env


@pytest.fixture
def photo(tmp_path) -> Path:
    skimage = pytest.importorskip("skimage.data")
    import cv2

    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(skimage.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def test_the_cli_runs_from_the_robot_install(robot, photo, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import fer_ros.cli, sys; print(fer_ros.cli.__file__); "
         "sys.exit(fer_ros.cli.main(sys.argv[1:]))", str(photo), "--out", "out.png"],
        cwd=tmp_path, env=robot_env(robot), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(str(site_packages(robot)))
    assert " happy " in done.stdout and (tmp_path / "out.png").is_file()


# fer_node from the robot's install, driven by that install's own harness (fer_ros.tools.harness): one
# photo in, one answer out.
NODE_CHECK = """
import sys, cv2
from fer_ros.msg import FaceEmotionArray
from fer_ros.tools import harness

node = harness.NodeProcess({"confirm_frames": 1}, remaps={"image": "/robot/image", "emotion": "/robot/emotion"})
link = harness.Link("robot_install_check")
try:
    answers = link.listen(FaceEmotionArray, "/robot/emotion", harness.Answers())
    camera = link.image_publisher("/robot/image")
    assert node.wait_ready(60), node.output
    link.wait_for_node(node, camera, "/robot/emotion")
    frame = cv2.imread(sys.argv[1])
    stamped = harness.header(7)
    reply = None
    for attempt in range(10):  # best effort, as a camera publishes: again until an answer comes
        camera.publish(harness.raw_image(frame.tobytes(), frame.shape[1], frame.shape[0], stamped))
        reply = answers.wait_for(harness.stamp_ns(stamped), timeout=3.0)
        if reply is not None:
            break
    assert reply is not None, node.output
    print("answer:", reply.model, [face.emotion for face in reply.faces])
finally:
    node.stop()
    link.close()
"""


def test_fer_node_answers_an_image_from_the_robot_install(robot, photo, tmp_path):
    env = robot_env(robot)
    assert shutil.which("fer_node", path=env["PATH"]) == str(robot / "lib" / "fer_ros" / "fer_node")
    done = subprocess.run([sys.executable, "-c", NODE_CHECK, str(photo)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "answer: fernet_w32 ['happy']" in done.stdout, done.stdout
