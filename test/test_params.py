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


def test_launch_overrides_name_real_parameters():
    """The launch file cannot run here (no launch_ros); its argument table is checked statically."""
    import ast

    tree = ast.parse((REPO / "launch" / "fer.launch.py").read_text())
    table = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", "") == "OVERRIDES")
    names = [ast.literal_eval(entry.elts[0]) for entry in table.elts]
    assert names and set(names) <= {p.name for p in params.PARAMETERS}
    for entry in table.elts:
        choices = entry.elts[2]
        if isinstance(choices, ast.Tuple):
            param = next(p for p in params.PARAMETERS if p.name == ast.literal_eval(entry.elts[0]))
            expected = param.choices or ("true", "false")
            assert tuple(ast.literal_eval(choices)) == expected
