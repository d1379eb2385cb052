"""One parameter schema (fer_ros.core.schema): everything else agrees with it.

config/fer.yaml and the README table equal what the generator prints; a running node declares exactly
the schema's parameters (as `ros2 param` shows them); the node's descriptors and checks, PipelineConfig's
checks, constructor defaults in the core and the registries of detectors and classifiers follow the
schema. (The launch arguments are checked in test_launch.)
"""

import inspect
import uuid

import pytest
import yaml
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters
from rclpy.parameter import Parameter, parameter_value_to_python

from conftest import REPO
from fer_ros.core import schema
from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import ConfigError
from fer_ros.node import params
from fer_ros.tools import harness, params_file
from ros_helpers import Graph


def yaml_values():
    return yaml.safe_load((REPO / "config" / "fer.yaml").read_text())["/**"]["ros__parameters"]


def test_committed_params_file_is_the_generated_one():
    assert (REPO / "config" / "fer.yaml").read_text() == params_file.yaml_text(), (
        "config/fer.yaml is out of date: python -m fer_ros.tools.params_file --update .")


def test_params_file_sets_every_parameter_to_its_default_with_its_type():
    values = yaml_values()
    assert values == schema.DEFAULTS
    assert {name: type(value) for name, value in values.items()} == {p.name: p.type for p in schema.PARAMETERS}


def test_readme_table_is_the_generated_one():
    readme = (REPO / "README.md").read_text()
    assert params_file.readme_table_of(readme) == params_file.readme_table(), (
        "README parameter table is out of date: python -m fer_ros.tools.params_file --update .")
    assert params_file.replace_readme_table(readme) == readme


def test_yaml_values_read_back_as_themselves():
    for value in ["", "auto", "0.5", "true", "yes", "a b", "/path/to/x.onnx", "$HOME/x", True, 0, 0.87]:
        assert yaml.safe_load(f"v: {params_file.yaml_value(value)}")["v"] == value, value


def test_every_parameter_has_a_description_a_range_or_choices_and_a_kind():
    assert len(schema.NAMES) == len(set(schema.NAMES))
    for p in schema.PARAMETERS:
        assert len(p.description) > 20 and p.description.endswith("."), p.name
        assert p.reconfigures in schema.RECONFIGURES, p.name
        if p.type in (int, float):
            assert p.range is not None and p.range[0] <= p.range[1], p.name
        assert type(p.default) is p.type, p.name
        p.check(p.default)


def test_choices_are_the_registries():
    from fer_ros.core.classifiers import CLASSIFIERS
    from fer_ros.core.detectors import DETECTOR_CHOICES

    assert schema.spec("detector").choices == tuple(DETECTOR_CHOICES)
    assert schema.spec("classifier_backend").choices == tuple(CLASSIFIERS)


# rclpy's own parameters, which every node declares (qos_overrides.* too, for a topic that allows them)
RCLPY_PARAMETERS = {"use_sim_time", "start_type_description_service"}
PARAMETER_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                   float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


@pytest.mark.parametrize("executable, ready", [("fer_node", "ready:"), ("fer_lifecycle_node", "unconfigured:")])
def test_a_running_node_declares_every_schema_parameter_and_no_other(executable, ready):
    """What `ros2 param list`, `get` and `describe` show of a real node started with no parameters: every
    schema parameter at its default with its type, description, range or choices and read-only flag,
    and no parameter of its own that the schema (so the README table, config/fer.yaml and the launch
    arguments) does not know."""
    namespace = "/params_" + uuid.uuid4().hex[:8]
    node, graph = harness.NodeProcess(namespace=namespace, executable=executable, ready=ready), Graph("params_test")
    name = f"{namespace}/fer_node"
    try:
        assert node.wait_ready(60), node.output
        listed = graph.call(ListParameters, f"{name}/list_parameters", ListParameters.Request()).result.names
        own = sorted(n for n in listed if n not in RCLPY_PARAMETERS and not n.startswith("qos_overrides."))
        assert own == sorted(schema.NAMES), set(own) ^ set(schema.NAMES)
        values = graph.call(GetParameters, f"{name}/get_parameters", GetParameters.Request(names=own)).values
        assert {n: parameter_value_to_python(v) for n, v in zip(own, values)} == schema.DEFAULTS
        assert all(v.type == PARAMETER_TYPES[schema.spec(n).type] for n, v in zip(own, values))
        described = graph.call(DescribeParameters, f"{name}/describe_parameters",
                               DescribeParameters.Request(names=own)).descriptors
        for d in described:
            expected = params.descriptor(schema.spec(d.name))
            assert (d.type, d.description, d.read_only, d.additional_constraints) == (
                PARAMETER_TYPES[schema.spec(d.name).type], expected.description, expected.read_only,
                expected.additional_constraints), d.name
            assert [(r.from_value, r.to_value) for r in d.floating_point_range] == [
                (r.from_value, r.to_value) for r in expected.floating_point_range], d.name
            assert [(r.from_value, r.to_value) for r in d.integer_range] == [
                (r.from_value, r.to_value) for r in expected.integer_range], d.name
    finally:
        graph.close()
        assert node.stop() == 0, node.output


def test_rebuild_sets_come_from_the_schema():
    from fer_ros.core.pipeline import CLASSIFIER_FIELDS, DETECTOR_FIELDS

    assert DETECTOR_FIELDS == schema.names(schema.DETECTOR) >= {"detector", "yunet_model"}
    assert CLASSIFIER_FIELDS == schema.names(schema.CLASSIFIER) == {"classifier_backend", "model", "num_threads"}
    assert schema.reconfigured_by(["hysteresis", "model"]) == {schema.TRACKING, schema.CLASSIFIER}


@pytest.mark.parametrize("name, value, message", [
    ("max_faces", 0, r"max_faces must lie in \[1, 100\], got 0"),
    ("hysteresis", 1.0, r"hysteresis must lie in \[0.0, 0.99\]"),
    ("detection_max_side", 10, r"detection_max_side must be 0 \(off\) or lie in \[64, 8192\]"),
    ("detector", "mtcnn", r"detector must be one of \['auto', 'haar', 'yunet'\]"),
    ("max_faces", "3", r"max_faces must be an integer \(\[1, 100\]\), got '3'"),
    ("track_iou_threshold", 0.0, r"track_iou_threshold must lie in \[0.01, 1.0\]"),
])
def test_validate_names_the_parameter_and_its_range(name, value, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig(**{name: value}).validate()


def test_edge_values_are_allowed():
    PipelineConfig(detection_max_side=0, hysteresis=0.99, max_faces=100, track_iou_threshold=0.01,
                   detection_threshold=1, confirm_frames=1).validate()


def test_unknown_names_are_refused_with_the_list():
    with pytest.raises(ConfigError, match="unknown parameter 'hysterisis'.*hysteresis"):
        schema.check("hysterisis", 0.1)
    params.check("qos_overrides./emotion.publisher.depth", 5)  # not ours: left to rclpy


def test_core_constructor_defaults_are_the_schema_defaults():
    """Classes that take a parameter's value keep the schema's default as their own (a parameter
    that is gone from a signature is not checked; one whose default differs fails)."""
    from fer_ros.core import quality, smoothing, stats, tracker
    from fer_ros.core.detectors import haar, yunet

    owners = [
        (stats.HealthThresholds, {n: n for n in ("stale_after", "warn_drop_ratio", "warn_latency",
                                                 "error_reject_ratio")}),
        (quality.assess, {"min_face_size": "min_face_size", "min_sharpness": "min_sharpness"}),
        (tracker.IouTracker, {"iou_threshold": "track_iou_threshold", "max_age": "track_max_age"}),
        (smoothing.EmotionSmoother, {"time_constant": "smoothing_time_constant", "hysteresis": "hysteresis",
                                     "uncertain_below": "uncertain_below", "max_age": "track_max_age"}),
        (haar.HaarDetector, {"min_neighbors": "haar_min_neighbors", "scale_factor": "haar_scale_factor"}),
        (yunet.YuNetDetector, {"score_threshold": "detection_threshold"}),
    ]
    checked = 0
    for owner, mapping in owners:
        signature = inspect.signature(owner)
        for argument, name in mapping.items():
            if argument in signature.parameters:
                assert signature.parameters[argument].default == schema.default(name), (owner, argument)
                checked += 1
    assert checked >= 8
    assert stats.HealthThresholds() == stats.HealthThresholds(
        *(schema.default(n) for n in ("stale_after", "warn_drop_ratio", "warn_latency", "error_reject_ratio")))


def test_descriptors_carry_description_range_choices_and_read_only():
    for p in params.PARAMETERS:
        d = params.descriptor(p)
        assert d.description == p.description and d.read_only == p.read_only
        if p.type is float:
            (r,) = d.floating_point_range
            assert (r.from_value, r.to_value) == p.range
        elif p.type is int:
            (r,) = d.integer_range
            assert (r.from_value, r.to_value) == (min(p.range[0], p.off if p.off is not None else p.range[0]),
                                                   p.range[1])
        if p.choices:
            assert all(c in d.additional_constraints for c in p.choices)
    assert "0 (off)" in params.descriptor(schema.spec("detection_max_side")).additional_constraints


@pytest.mark.parametrize("name, value, ok", [
    ("max_faces", 0, False), ("max_faces", 5, True), ("detector", "mtcnn", False),
    ("detection_threshold", 1.5, False), ("face_margin", 0.2, True), ("input_transport", "ffmpeg", False),
    ("stale_after", 0.0, False), ("blur_faces", True, True), ("detection_max_side", 32, False),
])
def test_runtime_changes_are_validated(name, value, ok):
    current = dict(schema.DEFAULTS)
    result = params.validate_change(current, [Parameter(name, value=value)])
    assert result.successful == ok
    if not ok:
        assert name in result.reason
