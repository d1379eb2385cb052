"""ONNX Runtime, which runs the emotion models and YuNet: one import that says how to install it, and
one way to open a model on the CPU."""

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


def cpu_session(path, threads: int = 1, errors_only: bool = False, hint: str = ""):
    """An ONNX Runtime session of the model file ``path`` on the CPU: ``threads`` threads within an
    operator, one across them; ``errors_only`` keeps ORT's warnings out of the log. ModelError with
    ORT's reason (and ``hint``: what to do) when it cannot load the file."""
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    if errors_only:
        options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT raises its own exception types for unreadable or invalid files
        raise ModelError(f"{path}: not an ONNX model ONNX Runtime can load ({str(error).strip()[:200]})"
                         + (f"; {hint}" if hint else "")) from None
