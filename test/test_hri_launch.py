"""launch/fer.launch.py's ROS4HRI modes with the real launch tools: hri_output:=true (fer_node with
REP-155 output, checked with `ros2 topic info`), hri_recognizer:=true (fer_hri_recognizer in place of
fer_node, `ros2 param get`), the arguments it refuses, and hri_output:=true without hri_msgs ending
`ros2 launch` with the install command. Uses test_launch's machinery; skips where the launch tools
or hri_msgs are not to be had."""

from __future__ import annotations

import functools
import subprocess
import time

import pytest

from hri_helpers import ROS4HRI_ENV, PROBE
from test_launch import Launch, describe, finish, launch_env, param_get, processes_with, unique_namespace


@functools.cache
def launch_hri_env() -> dict:
    """launch_env() plus hri_msgs (../shared/ros4hri, sourced on top), or skip."""
    env = launch_env()
    if subprocess.run(["python3", "-c", PROBE], env=env, capture_output=True).returncode == 0:
        return env
    if not ROS4HRI_ENV.exists():
        pytest.skip(f"hri_msgs is not installed and {ROS4HRI_ENV} is absent")
    dump = subprocess.run(["bash", "-c", f". {ROS4HRI_ENV} && env -0"], env=env, capture_output=True,
                          check=True).stdout.decode()
    return dict(line.split("=", 1) for line in dump.split("\0") if "=" in line)


def test_hri_recognizer_starts_the_recognizer_alone_with_the_parameters():
    out = describe("hri_recognizer:=true", "hysteresis:=0.2", "hri_input:=aligned", "namespace:=robot")
    assert out["error"] is None, out["error"]
    (node,) = out["nodes"]
    assert (node["name"], node["executable"], node["lifecycle"]) == ("/robot/fer_hri_recognizer",
                                                                      "fer_hri_recognizer", False)
    assert node["overrides"] == {"hysteresis": 0.2, "hri_input": "aligned"} and node["remappings"] == {}
    assert node["params_file"].endswith("config/fer.yaml")


@pytest.mark.parametrize("argv", [["lifecycle:=true"], ["cameras:=front:/front/image_raw"], ["use_rviz:=true"]])
def test_hri_recognizer_refuses_what_it_cannot_honour(argv):
    out = describe("hri_recognizer:=true", *argv)
    assert out["error"] and "hri_recognizer:=true cannot be combined with" in out["error"], out["error"]
    assert argv[0].split(":=")[0] in out["error"] and out["nodes"] == []


def test_hri_output_is_a_typed_override_of_fer_node():
    (node,) = describe("hri_output:=true", "hri_crop_size:=96")["nodes"]
    assert node["executable"] == "fer_node" and node["overrides"] == {"hri_output": True, "hri_crop_size": 96}


def test_ros2_launch_with_hri_output_publishes_the_tracked_list():
    env = launch_hri_env()
    namespace = unique_namespace()
    launch = Launch(f"namespace:={namespace}", "hri_output:=true", env=env)
    try:
        assert launch.wait_for_line("ready:", 60), launch.output
        deadline, info = time.monotonic() + 60, ""
        while time.monotonic() < deadline:  # each try spends its --spin-time discovering the node
            done = subprocess.run(["ros2", "topic", "info", "-v", f"/{namespace}/humans/faces/tracked", "--no-daemon",
                                   "--spin-time", "3"], env=env, capture_output=True, text=True, timeout=60)
            info = done.stdout + done.stderr
            if "Publisher count: 1" in info:
                break
        assert "Type: hri_msgs/msg/IdsList" in info and "Publisher count: 1" in info, info
        assert "Reliability: RELIABLE" in info and "Durability: VOLATILE" in info, info
        assert "Boolean value is: True" in param_get(f"/{namespace}/fer_node", "hri_output", time.monotonic() + 30)
    finally:
        launch.process.send_signal(2)
        code, output = finish(launch)
    assert "process has finished cleanly" in output, output
    assert not processes_with(f"__ns:=/{namespace}")


def test_ros2_launch_with_hri_recognizer_runs_it_with_the_arguments():
    env = launch_hri_env()
    namespace = unique_namespace()
    launch = Launch(f"namespace:={namespace}", "hri_recognizer:=true", "hri_input:=aligned", env=env)
    try:
        deadline = time.monotonic() + 60
        done = ""
        while time.monotonic() < deadline:  # each try spends its --spin-time discovering the node
            result = subprocess.run(["ros2", "param", "get", f"/{namespace}/fer_hri_recognizer", "hri_input",
                                     "--no-daemon", "--spin-time", "3"], env=env, capture_output=True, text=True,
                                    timeout=60)
            done = result.stdout + result.stderr
            if result.returncode == 0:
                break
        assert "String value is: aligned" in done, done
    finally:
        launch.process.send_signal(2)
        code, output = finish(launch)
    assert "humans/faces/<id>/aligned" in output and "process has finished cleanly" in output, output


def test_ros2_launch_with_hri_output_but_no_hri_msgs_exits_with_the_install_command():
    env = launch_env()
    if subprocess.run(["python3", "-c", PROBE], env=env, capture_output=True).returncode == 0:
        pytest.skip("hri_msgs is installed here: a machine without it cannot be imitated")
    namespace = unique_namespace()
    code, output = finish(Launch(f"namespace:={namespace}", "hri_output:=true"))
    assert code != 0 and "apt install ros-" in output and "hri-msgs" in output, output
    assert not processes_with(f"__ns:=/{namespace}")
