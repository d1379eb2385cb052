"""hri_msgs for the REP-155 tests: from the environment (a ROS install with ros-<distro>-hri-msgs)
or from ../shared/ros4hri (hri_msgs 2.0.0 built on the project's wheels), never copied here.

:func:`hri_env` is the environment a node process needs to import them; :func:`hri_msgs` imports
them into this (pytest) process. Both skip the test with the reason where neither has them.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

from conftest import SHARED, sourced_env

ROS4HRI = SHARED / "ros4hri"
ROS4HRI_ENV = ROS4HRI / "env.sh"
PROBE = "from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D"


@functools.cache
def hri_env() -> dict:
    """The environment in which a subprocess imports hri_msgs: this one, or this one plus
    ../shared/ros4hri (its env.sh, sourced in a shell); skips the test when neither works."""
    return sourced_env(PROBE, ROS4HRI_ENV, "hri_msgs is not installed (apt install ros-<distro>-hri-msgs)")


def without_hri_env() -> dict:
    """This environment with every path of ../shared/ros4hri taken out (a machine without hri_msgs)."""
    prefix = str(ROS4HRI)
    env = dict(os.environ)
    for name in ("PYTHONPATH", "AMENT_PREFIX_PATH", "LD_LIBRARY_PATH"):
        if name in env:
            env[name] = os.pathsep.join(p for p in env[name].split(os.pathsep) if not p.startswith(prefix))
    return env


@functools.cache
def hri_msgs():
    """The ``hri_msgs.msg`` module in this process. From ../shared/ros4hri its libraries are loaded
    by path first: the dynamic linker reads LD_LIBRARY_PATH only when a process starts, and the
    message module's C extensions need them."""
    try:
        from hri_msgs import msg
        return msg
    except ImportError:
        pass
    env = hri_env()  # skips when there is no hri_msgs to be had
    for name in ("LD_LIBRARY_PATH", "AMENT_PREFIX_PATH"):
        os.environ[name] = env.get(name, "")  # rosidl looks type support libraries up by these at run time
    lib = ROS4HRI / "hri_msgs" / "lib"
    for kind in ("generator_c", "typesupport_c", "typesupport_introspection_c", "typesupport_fastrtps_c",
                 "generator_py"):
        ctypes.CDLL(str(lib / f"libhri_msgs__rosidl_{kind}.so"), mode=ctypes.RTLD_GLOBAL)
    sys.path.insert(0, str(next(lib.glob("python3*/site-packages"))))
    from hri_msgs import msg
    return msg


def brightness_model(folder) -> str:
    """An emotion model (ONNX, with its sidecar) whose answer is the crop's mean grey level in seven
    bands, ``angry`` for the darkest to ``neutral`` for the brightest: a crop of grey level
    :func:`level_of` ``(k)`` is emotion ``k`` with probability ~1. Lets a test reach every emotion
    through a real process."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    from fer_ros.core.emotions import NUM_EMOTIONS
    from fer_ros.core.sidecar import update_sidecar, write_sidecar

    centres = np.arange(NUM_EMOTIONS, dtype=np.float32)[None, :] + 0.5
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape"], ["level"]),
        helper.make_node("Mul", ["level", "per_band"], ["band"]),
        helper.make_node("Sub", ["band", "centres"], ["offset"]),
        helper.make_node("Mul", ["offset", "offset"], ["squared"]),
        helper.make_node("Mul", ["squared", "sharpness"], ["logits"]),
    ]
    constants = [helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1]),
                 helper.make_tensor("per_band", TensorProto.FLOAT, [], [NUM_EMOTIONS / 256]),
                 helper.make_tensor("centres", TensorProto.FLOAT, [1, NUM_EMOTIONS], centres.ravel().tolist()),
                 helper.make_tensor("sharpness", TensorProto.FLOAT, [], [-50.0])]
    graph = helper.make_graph(nodes, "brightness",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 48, 48, 1])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", NUM_EMOTIONS])],
                              constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = os.path.join(str(folder), "brightness.onnx")
    onnx.save(model, path)
    write_sidecar(path, "brightness", 48)
    update_sidecar(path, output="logits")
    return path


def level_of(k: int) -> int:
    """The grey level that :func:`brightness_model` reads as emotion ``k`` (EMOTIONS order)."""
    from fer_ros.core.emotions import NUM_EMOTIONS

    return int((k + 0.5) * 256 / NUM_EMOTIONS)
