"""The node's parameters: one table with defaults, descriptions, ranges and choices.

Pipeline defaults come from :class:`PipelineConfig`; ``config/fer.yaml`` repeats every default with a
comment, and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.node import Node
from rclpy.parameter import Parameter

from fer_ros.core.classifier import CLASSIFIERS
from fer_ros.core.detectors import DETECTOR_CHOICES
from fer_ros.core.errors import ConfigError
from fer_ros.core.config import PipelineConfig

_DEFAULTS = PipelineConfig()


@dataclass(frozen=True)
class Param:
    name: str
    default: object
    description: str
    range: tuple | None = None  # (low, high) for numbers
    choices: tuple | None = None  # allowed strings
    read_only: bool = False  # needs a restart (changes subscriptions)


PARAMETERS = (
    Param("detector", _DEFAULTS.detector, "Face detector: 'auto' (YuNet when its verified model file is in "
          "the cache folder or yunet_model names one, else Haar), 'haar' (ships with OpenCV) or 'yunet' "
          "(needs the model file: ros2 run fer_ros fetch_models).", choices=DETECTOR_CHOICES),
    Param("yunet_model", _DEFAULTS.yunet_model, "Path of the YuNet ONNX file "
          "(face_detection_yunet_2023mar.onnx) when detector is 'yunet'."),
    Param("detection_threshold", _DEFAULTS.detection_threshold, "Minimum face score in [0, 1] (yunet).",
          range=(0.0, 1.0)),
    Param("detection_max_side", _DEFAULTS.detection_max_side, "Frames whose longest side exceeds this "
          "many pixels are downscaled for detection only (0: never).", range=(0, 8192)),
    Param("haar_min_neighbors", _DEFAULTS.haar_min_neighbors, "Haar cascade minNeighbors: higher finds "
          "fewer, surer faces (haar).", range=(1, 50)),
    Param("haar_scale_factor", _DEFAULTS.haar_scale_factor, "Haar cascade scaleFactor: step between the "
          "face sizes searched; larger is faster and may miss faces between steps (haar).", range=(1.01, 2.0)),
    Param("detection_interval", _DEFAULTS.detection_interval, "Seconds between full-frame detections while "
          "faces are tracked; in between, each tracked face is re-detected near its last box (0: full "
          "detection on every frame).", range=(0.0, 10.0)),
    Param("scene_change_threshold", _DEFAULTS.scene_change_threshold, "Mean grey-level change of a "
          "32x24 thumbnail since the last full detection (0-255) that triggers a full detection at once "
          "(a new scene, the camera turned); 0: every frame.", range=(0.0, 255.0)),
    Param("confirm_frames", _DEFAULTS.confirm_frames, "A new face is published once it has been "
          "detected in this many frames, so a false face seen in a single frame never reaches /emotion "
          "(1: publish at once).", range=(1, 30)),
    Param("min_face_size", _DEFAULTS.min_face_size, "Smallest face side in source pixels; smaller faces are "
          "ignored.", range=(8, 4096)),
    Param("max_faces", _DEFAULTS.max_faces, "Most faces classified per frame (best or largest first).",
          range=(1, 100)),
    Param("face_margin", _DEFAULTS.face_margin, "Margin added around each face box before cropping, as a "
          "fraction of the box size.", range=(0.0, 1.0)),
    Param("classifier_backend", _DEFAULTS.classifier_backend, "Emotion classifier: 'fer' (this project's "
          "model in ONNX Runtime) or 'deepface' (DeepFace's emotion CNN in Keras; needs TensorFlow and its "
          "weights file, never downloaded).", choices=tuple(CLASSIFIERS)),
    Param("model", _DEFAULTS.model, "Emotion model. fer: empty or 'default' for the shipped, most accurate "
          "model; 'fast' for the shipped fast one (about a ninth of the time per face, 2.1 points less "
          "accurate); or an exported .onnx with its .json sidecar; deepface: facial_expression_model_weights.h5, empty for "
          "$DEEPFACE_HOME/.deepface/weights/ (DEEPFACE_HOME defaults to the home directory)."),
    Param("num_threads", _DEFAULTS.num_threads, "CPU threads for emotion inference.", range=(1, 64)),
    Param("track_iou_threshold", _DEFAULTS.track_iou_threshold, "Minimum box overlap (IoU) to keep a "
          "face's id from one frame to the next.", range=(0.01, 1.0)),
    Param("track_max_age", _DEFAULTS.track_max_age, "Seconds a face may go unseen before its id "
          "expires.", range=(0.0, 60.0)),
    Param("smoothing_time_constant", _DEFAULTS.smoothing_time_constant, "Seconds over which each face's "
          "probabilities are averaged (exponential moving average; 0: no smoothing).", range=(0.0, 10.0)),
    Param("hysteresis", _DEFAULTS.hysteresis, "A face's label changes only when another emotion's smoothed "
          "probability leads the current one by more than this.", range=(0.0, 0.99)),
    Param("uncertain_below", _DEFAULTS.uncertain_below, "Below this smoothed probability the label is "
          "reported as 'uncertain'.", range=(0.0, 1.0)),
    Param("min_sharpness", _DEFAULTS.min_sharpness, "Faces whose crop is blurrier than this (variance of "
          "the Laplacian at 48x48) are flagged 'blurred' and reported 'uncertain' (0: never).",
          range=(0.0, 10000.0)),
    Param("input_transport", "raw", "Subscribe to 'image' (raw, sensor_msgs/Image) or 'image/compressed' "
          "(compressed, sensor_msgs/CompressedImage).", choices=("raw", "compressed"), read_only=True),
    Param("input_reliability", "best_effort", "QoS reliability of the image subscription: 'best_effort' "
          "(sensor data, REP-2003) or 'reliable'.", choices=("best_effort", "reliable"), read_only=True),
    Param("publish_annotated", True, "Publish emotion/annotated_image (drawn only while subscribed)."),
    Param("blur_faces", False, "Blur every face in the annotated image (privacy); labels stay readable."),
    Param("diagnostic_period", 1.0, "Seconds between /diagnostics messages.", range=(0.1, 60.0), read_only=True),
    Param("stale_after", 2.0, "Seconds without input images before diagnostics report STALE.",
          range=(0.1, 3600.0)),
    Param("warn_drop_ratio", 0.5, "Fraction of input frames dropped as stale (inference too slow) that "
          "makes diagnostics WARN.", range=(0.0, 1.0)),
    Param("warn_latency", 0.2, "Mean seconds from receipt to publication that makes diagnostics WARN.",
          range=(0.001, 60.0)),
    Param("error_reject_ratio", 0.5, "Fraction of input frames rejected (bad encoding, corrupt data) that "
          "makes diagnostics ERROR.", range=(0.0, 1.0)),
    Param("log_throttle_period", 5.0, "Seconds between repeated warnings of one kind.", range=(0.1, 3600.0)),
)
PIPELINE_FIELDS = set(PipelineConfig.field_names())


def _descriptor(param: Param) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.choices:
        descriptor.additional_constraints = "one of: " + ", ".join(param.choices)
    if param.range and isinstance(param.default, float):
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(param.range[0]),
                                                              to_value=float(param.range[1]))]
    elif param.range:
        descriptor.integer_range = [IntegerRange(from_value=param.range[0], to_value=param.range[1], step=1)]
    return descriptor


def declare_parameters(node: Node) -> None:
    for param in PARAMETERS:
        node.declare_parameter(param.name, param.default, _descriptor(param))


def check(name: str, value) -> None:
    """Raise ConfigError when ``value`` is not allowed for parameter ``name``."""
    param = next((p for p in PARAMETERS if p.name == name), None)
    if param is None:
        return
    if param.choices and value not in param.choices:
        raise ConfigError(f"{name} must be one of {list(param.choices)}, got {value!r}")
    if param.range and not param.range[0] <= value <= param.range[1]:
        raise ConfigError(f"{name} must lie in [{param.range[0]}, {param.range[1]}], got {value}")


def read_all(node: Node) -> dict:
    """Every parameter's current value, checked; raises ConfigError with the fix on a bad one."""
    values = {p.name: node.get_parameter(p.name).value for p in PARAMETERS}
    for name, value in values.items():
        check(name, value)
    return values


def pipeline_config(values: dict) -> PipelineConfig:
    """The PipelineConfig for a dict of parameter values (validated)."""
    return replace(PipelineConfig(), **{k: v for k, v in values.items() if k in PIPELINE_FIELDS}).validate()


def validate_change(current: dict, changes: list[Parameter]) -> SetParametersResult:
    """on_set_parameters callback body: accept a change only if the result is a valid configuration."""
    updated = dict(current)
    try:
        for change in changes:
            check(change.name, change.value)
            updated[change.name] = change.value
        pipeline_config(updated)
    except ConfigError as error:
        return SetParametersResult(successful=False, reason=str(error))
    return SetParametersResult(successful=True)
