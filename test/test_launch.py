"""launch/fer.launch.py with the real launch tools: its description (arguments, nodes, remaps,
typed overrides, errors) and real `ros2 launch` runs (`ros2 param get` sees an override; a node
that dies at start-up, an unknown argument or a missing rviz2 make it exit non-zero with nothing
left running) and a `launch_test` file.

launch, launch_ros and ros2cli are not on PyPI: these tests use them where they import, i.e. on a
ROS install or with ../shared/ros2cli (sourced for the subprocesses they run), and skip with the
reason elsewhere. Everything runs in subprocesses: launch_testing's pytest plugin is switched off
in ../shared/ros2cli, and a launch service wants its own main thread.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import yaml

from conftest import REPO, SHARED, sourced_env
from fer_ros.core import schema
from fer_ros.tools.harness import READY
from ros_helpers import wait_for

LAUNCH_FILE = REPO / "launch" / "fer.launch.py"
ROS2CLI_ENV = SHARED / "ros2cli" / "env.sh"
LAUNCH_TEST_FILE = REPO / "test" / "launch_tests" / "fer_params_launch.py"
SIM_TIME_LAUNCH_TEST_FILE = REPO / "test" / "launch_tests" / "fer_sim_time_launch.py"
PROBE = "import launch, launch_ros, launch_testing, ros2launch"


@functools.cache
def launch_env() -> dict:
    """The environment in which launch and ros2 work: this one, or this one plus ../shared/ros2cli."""
    return sourced_env(PROBE, ROS2CLI_ENV, "launch/launch_ros/ros2cli are not importable (not on PyPI)")


# Loads the launch description as `ros2 launch` would, declares the given arguments, and runs the
# file's OpaqueFunction without starting anything: prints the arguments and the nodes it would start.
# With --pretend-installed first, every executable counts as installed (e.g. rviz2 where it is not).
DESCRIBE = r"""
import json, sys, yaml
from launch import LaunchContext
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.launch_description_sources import load_python_launch_file_as_module
from launch_ros.actions import LifecycleNode, Node

pretend_installed = sys.argv[1] == "--pretend-installed"
path, argv = sys.argv[1 + pretend_installed], sys.argv[2 + pretend_installed:]
module = load_python_launch_file_as_module(path)
if pretend_installed:
    module.find_executable = lambda package, executable: None
description = module.generate_launch_description()
out = {"arguments": {a.name: {"default": "".join(t.describe() for t in a.default_value).strip("'"),
                              "choices": a.choices, "description": a.description}
                     for a in description.get_launch_arguments()},
       "nodes": [], "error": None}
context = LaunchContext(argv=argv)
for arg in argv:
    name, value = arg.split(":=", 1)
    context.launch_configurations[name] = value
try:
    for entity in description.entities:
        if isinstance(entity, DeclareLaunchArgument):
            entity.execute(context)
        elif isinstance(entity, OpaqueFunction):
            for action in entity.execute(context) or []:
                if not isinstance(action, Node):
                    continue
                action._perform_substitutions(context)
                files = [p for p, is_file in action._Node__expanded_parameter_arguments if is_file]
                values = []  # each file's parameters, in order
                for f in files:
                    values.append({})
                    for scope in (yaml.safe_load(open(f)) or {}).values():
                        values[-1].update(scope["ros__parameters"])
                out["nodes"].append({
                    "name": action.node_name, "namespace": action.expanded_node_namespace,
                    "executable": action.node_executable, "lifecycle": isinstance(action, LifecycleNode),
                    "remappings": dict(action.expanded_remapping_rules or []),
                    "params_file": files[0] if files else None,
                    "overrides": {k: v for file_values in values[1:] for k, v in file_values.items()},
                    "parameters": {k: v for file_values in values for k, v in file_values.items()}})
except Exception as error:
    out["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(out))
"""


def describe(*argv: str, pretend_installed: bool = False) -> dict:
    flag = ["--pretend-installed"] if pretend_installed else []
    done = subprocess.run([sys.executable, "-c", DESCRIBE, *flag, str(LAUNCH_FILE), *argv], env=launch_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_schema_parameter_is_a_launch_argument_with_its_choices():
    arguments = describe()["arguments"]
    assert set(schema.NAMES) <= set(arguments)
    for p in schema.PARAMETERS:
        argument = arguments[p.name]
        assert argument["default"] == "", p.name  # empty: the params file's value
        assert p.description in argument["description"], p.name
        if p.choices:
            assert argument["choices"] == ["", *p.choices], p.name
        elif p.type is bool:
            assert argument["choices"] == ["", "true", "false"], p.name
        else:
            assert argument["choices"] is None, p.name
        if p.range:
            assert p.allowed() in argument["description"], p.name


def test_default_launch_is_one_node_with_the_params_file_and_no_overrides():
    (node,) = describe()["nodes"]
    assert node["name"] == "/fer_node" and node["executable"] == "fer_node" and not node["lifecycle"]
    assert node["remappings"] == {"image": "/camera/image_raw", "image/compressed": "/camera/image_raw/compressed"}
    assert node["params_file"].endswith("config/fer.yaml") and node["overrides"] == {}


def test_overrides_are_typed_and_only_the_given_ones_are_passed():
    out = describe("hysteresis:=0", "max_faces:=3", "yunet_model:=123", "publish_annotated:=false",
                   "detector:=haar")
    assert out["error"] is None, out["error"]
    overrides = out["nodes"][0]["overrides"]
    assert overrides == {"hysteresis": 0.0, "max_faces": 3, "yunet_model": "123", "publish_annotated": False,
                         "detector": "haar"}
    assert {name: type(value) for name, value in overrides.items()} == {
        "hysteresis": float, "max_faces": int, "yunet_model": str, "publish_annotated": bool, "detector": str}


def test_two_cameras_give_two_namespaced_nodes_with_the_same_parameters():
    out = describe("cameras:=front:/front/image_raw,rear:/rear/cam/image_raw", "hysteresis:=0.2",
                   "namespace:=robot")
    assert out["error"] is None, out["error"]
    front, rear = out["nodes"]
    assert (front["name"], rear["name"]) == ("/robot/front/fer_node", "/robot/rear/fer_node")
    assert front["remappings"] == {"image": "/front/image_raw", "image/compressed": "/front/image_raw/compressed"}
    assert rear["remappings"] == {"image": "/rear/cam/image_raw",
                                  "image/compressed": "/rear/cam/image_raw/compressed"}
    assert front["overrides"] == rear["overrides"] == {"hysteresis": 0.2}
    assert front["params_file"] == rear["params_file"]


def test_lifecycle_starts_the_managed_executable_under_the_same_name():
    out = describe("lifecycle:=true")
    if out["error"] and "fer_lifecycle_node" in out["error"]:
        pytest.skip(f"fer_lifecycle_node is not installed here: {out['error']}")
    (node,) = out["nodes"]
    assert node["lifecycle"] and node["executable"] == "fer_lifecycle_node" and node["name"] == "/fer_node"


@pytest.mark.parametrize("argv", [[], ["cameras:=front:/front/image_raw,rear:/rear/image_raw"],
                                  ["lifecycle:=true"], ["hri_recognizer:=true"], ["use_rviz:=true"]])
def test_use_sim_time_reaches_every_node_it_starts(argv):
    """use_sim_time:=true is passed to fer_node (each camera's), the managed variant, the recognizer
    and rviz2 (counted as installed here); use_sim_time:=false too; left out, the params file decides
    (nothing is passed)."""
    def use_sim_time(*given):
        out = describe(*given, *argv, pretend_installed=True)
        assert out["error"] is None, out["error"]
        return {node["name"]: node["parameters"].get("use_sim_time") for node in out["nodes"]}

    on = use_sim_time("use_sim_time:=true")
    assert len(on) == (2 if "use_rviz:=true" in argv or "cameras:=" in " ".join(argv) else 1)
    assert set(on.values()) == {True}, on
    assert set(use_sim_time("use_sim_time:=false").values()) == {False}
    assert set(use_sim_time().values()) == {None}


@pytest.mark.parametrize("argv, message", [
    (["hysterisis:=0.2"], "unknown launch argument(s) hysterisis (did you mean hysteresis?)"),
    (["max_faces:=-1"], "max_faces must lie in [1, 100], got -1"),
    (["max_faces:=2.5"], "launch argument max_faces:='2.5': not an integer"),
    (["detection_max_side:=32"], "detection_max_side must be 0 (off) or lie in [64, 8192]"),
    (["cameras:=front"], "'front' is not NAME:TOPIC"),
    (["cameras:=a:/x,a:/y"], "camera 'a' given twice"),
    (["detector:=mtcnn"], "Valid options are: ['', 'auto', 'haar', 'yunet']"),
])
def test_bad_arguments_are_reported_before_anything_starts(argv, message):
    out = describe(*argv)
    assert out["error"] and message in out["error"], out["error"]
    assert out["nodes"] == []


def test_unknown_names_list_every_valid_name():
    error = describe("nonsense:=1")["error"]
    assert all(name in error for name in ("namespace", "cameras", "lifecycle", *schema.NAMES))


# --- real `ros2 launch` runs -------------------------------------------------------------------

class Launch:
    """``ros2 launch fer.launch.py ARGV...`` in a session of its own, its output (its nodes' logs
    included) collected line by line as it comes."""

    def __init__(self, *argv: str, env: dict | None = None):
        self.process = subprocess.Popen(["ros2", "launch", str(LAUNCH_FILE), *argv], env=env or launch_env(), text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> bool:
        """Wait until a line containing ``text`` came (False once ros2 launch exits or ``timeout`` passes)."""
        def seen() -> bool:
            return any(text in line for line in list(self.lines))

        wait_for(lambda: seen() or self.process.poll() is not None, timeout)
        return seen()


def finish(launch: Launch, timeout: float = 60) -> tuple[int, str]:
    """Wait for ros2 launch to exit (kill its session after ``timeout`` s); its exit code and output."""
    try:
        launch.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launch.process.pid, 9)
        launch.process.wait()
        launch._reader.join(10)
        raise AssertionError(f"ros2 launch did not stop within {timeout} s:\n{launch.output}")
    launch._reader.join(10)  # the rest of its output
    return launch.process.returncode, launch.output


def processes_with(text: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if text in line and "ps -eo" not in line]


def unique_namespace() -> str:
    return "fer_launch_" + uuid.uuid4().hex[:8]


def param_get(node: str, name: str, deadline: float) -> str:
    """``ros2 param get``, again until it answers or ``deadline`` passes: each try spends up to its
    --spin-time (3 s) discovering the node, the wait between tries."""
    while True:
        done = subprocess.run(["ros2", "param", "get", node, name, "--no-daemon", "--spin-time", "3"],
                              env=launch_env(), capture_output=True, text=True, timeout=60)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done.stdout + done.stderr


def test_ros2_launch_override_reaches_ros2_param_get():
    namespace = unique_namespace()
    launch = Launch(f"namespace:={namespace}", "hysteresis:=0.2", "max_faces:=3")
    try:
        assert launch.wait_for_line(READY, 60), launch.output  # the node is up: its parameters are declared
        deadline = time.monotonic() + 30
        assert "Double value is: 0.2" in param_get(f"/{namespace}/fer_node", "hysteresis", deadline)
        assert "Integer value is: 3" in param_get(f"/{namespace}/fer_node", "max_faces", deadline)
        assert "Double value is: 0.4" in param_get(f"/{namespace}/fer_node", "uncertain_below", deadline)
    finally:
        launch.process.send_signal(2)  # SIGINT to ros2 launch alone, as `timeout -s INT` sends it
        code, output = finish(launch)
    assert "process has finished cleanly" in output, output
    assert not processes_with(f"__ns:=/{namespace}")


def test_ros2_launch_exits_non_zero_when_the_node_dies_at_start_up():
    namespace = unique_namespace()
    code, output = finish(Launch(f"namespace:={namespace}", "model:=/nonexistent/model.onnx"))
    assert code != 0, output
    assert "does not exist" in output and "exited with code 1" in output, output
    assert not processes_with(f"__ns:=/{namespace}")


def test_ros2_launch_refuses_an_unknown_argument_and_starts_nothing():
    namespace = unique_namespace()
    code, output = finish(Launch(f"namespace:={namespace}", "hysterisis:=0.2"))
    assert code == 1 and "did you mean hysteresis?" in output, output
    assert "process started" not in output and not processes_with(f"__ns:=/{namespace}")


def test_use_rviz_without_rviz2_fails_and_leaves_no_node_running():
    env = launch_env()
    rviz = subprocess.run(["ros2", "pkg", "prefix", "rviz2"], env=env, capture_output=True, text=True)
    if rviz.returncode == 0:
        pytest.skip("rviz2 is installed here; this checks a machine without it")
    namespace = unique_namespace()
    code, output = finish(Launch(f"namespace:={namespace}", "use_rviz:=true"))  # it has exited:
    # a node it had started and left behind would be running still, with no need to wait for anything
    assert code == 1 and "rviz2" in output and "nothing was started" in output, output
    assert "process started" not in output and not processes_with(f"__ns:=/{namespace}")


def test_launch_test_file_passes():
    """test/launch_tests/fer_params_launch.py through the real `launch_test` (overrides reach the
    node's parameter service; every process exits cleanly)."""
    done = subprocess.run(["launch_test", str(LAUNCH_TEST_FILE)], env=launch_env(), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_launch_test_sim_time_file_passes():
    """test/launch_tests/fer_sim_time_launch.py through the real `launch_test`: with
    use_sim_time:=true the node's parameter is true, its diagnostics are published without /clock and
    their stamps follow /clock once it is published; every process exits cleanly."""
    done = subprocess.run(["launch_test", str(SIM_TIME_LAUNCH_TEST_FILE)], env=launch_env(),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_the_params_file_is_the_installed_generated_one():
    (node,) = describe()["nodes"]
    values = yaml.safe_load(open(node["params_file"]))["/**"]["ros__parameters"]
    assert values == schema.DEFAULTS
