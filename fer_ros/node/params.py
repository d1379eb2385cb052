"""The node's parameters, derived from the schema (fer_ros.core.schema): ParameterDescriptors with
descriptions, ranges and choices, declaration, checks and the PipelineConfig of a set of values.
"""

from __future__ import annotations

from dataclasses import replace

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.node import Node
from rclpy.parameter import Parameter

from fer_ros.core import schema
from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import ConfigError

# Every parameter (schema.ParamSpec: .name, .type, .default, .description, .range, .choices, .off,
# .read_only, .reconfigures), in declaration order.
PARAMETERS = schema.PARAMETERS
PIPELINE_FIELDS = set(PipelineConfig.field_names())


def descriptor(param: schema.ParamSpec) -> ParameterDescriptor:
    """The ParameterDescriptor of one schema entry (``ros2 param describe`` shows it)."""
    descriptor = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.choices or param.off is not None:
        descriptor.additional_constraints = param.allowed()
    if param.range:
        low = min(param.range[0], param.off) if param.off is not None else param.range[0]
        if param.type is float:
            descriptor.floating_point_range = [FloatingPointRange(from_value=float(low),
                                                                  to_value=float(param.range[1]))]
        else:
            descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(param.range[1]), step=1)]
    return descriptor


def declare_parameters(node: Node) -> None:
    for param in PARAMETERS:
        node.declare_parameter(param.name, param.default, descriptor(param))


def check(name: str, value) -> None:
    """Raise ConfigError when ``value`` is not allowed for parameter ``name`` (the reason names the
    parameter and its allowed values). Names the schema does not know (e.g. the QoS overrides
    rclpy declares) are left to rclpy."""
    if name in schema.BY_NAME:
        schema.check(name, value)


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
