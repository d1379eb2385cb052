"""config/fer.yaml and the node's declared parameters agree; validation rejects bad values."""

import pytest
import yaml
from rclpy.parameter import Parameter

from conftest import REPO
from fer_ros.node import params


def yaml_values():
    return yaml.safe_load((REPO / "config" / "fer.yaml").read_text())["/**"]["ros__parameters"]


def test_yaml_sets_every_parameter_to_the_node_default():
    assert yaml_values() == {p.name: p.default for p in params.PARAMETERS}


def test_every_parameter_has_a_description_and_numbers_a_range():
    for p in params.PARAMETERS:
        assert len(p.description) > 20, p.name
        if isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
            assert p.range is not None, p.name
            assert p.range[0] <= p.default <= p.range[1], p.name


@pytest.mark.parametrize("name, value, ok", [
    ("max_faces", 0, False), ("max_faces", 5, True), ("detector", "mtcnn", False),
    ("detection_threshold", 1.5, False), ("face_margin", 0.2, True), ("input_transport", "ffmpeg", False),
])
def test_runtime_changes_are_validated(name, value, ok):
    current = {p.name: p.default for p in params.PARAMETERS}
    result = params.validate_change(current, [Parameter(name, value=value)])
    assert result.successful == ok
    if not ok:
        assert name in result.reason
