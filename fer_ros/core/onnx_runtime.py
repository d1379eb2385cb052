"""ONNX Runtime, which runs the emotion models and YuNet: one import that says how to install it."""

from __future__ import annotations

from fer_ros.core.errors import ModelError

INSTALL_HINT = ("install ONNX Runtime: on a robot the rosdep key python3-onnxruntime-pip "
                "(rosdep install --from-paths src --ignore-src -y; Humble: pip3 install --user onnxruntime==1.12.1, "
                "docs/robot.md), elsewhere pip install onnxruntime")


def onnxruntime():
    """The ``onnxruntime`` module; ModelError saying how to install it when it is missing."""
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise ModelError(f"ONNX Runtime does not import ({error}): {INSTALL_HINT}") from None
    return ort
