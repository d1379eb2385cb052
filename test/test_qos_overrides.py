"""QoS of fer_node's topics: today's defaults, and overrides from parameters (qos_overrides.*)."""

from __future__ import annotations

import pytest
from rclpy.qos import ReliabilityPolicy

from ros_helpers import Graph, NodeProcess, wait_for


@pytest.fixture(scope="module")
def graph():
    graph = Graph("qos_test")
    yield graph
    graph.close()


def reliability(graph, topic: str, publishers: bool) -> ReliabilityPolicy:
    info = graph.node.get_publishers_info_by_topic if publishers else graph.node.get_subscriptions_info_by_topic
    assert wait_for(lambda: len(info(topic)) == 1), f"no endpoint on {topic}"
    return info(topic)[0].qos_profile.reliability


@pytest.mark.parametrize("overrides, image, emotion, annotated", [
    ({}, ReliabilityPolicy.BEST_EFFORT, ReliabilityPolicy.RELIABLE, ReliabilityPolicy.RELIABLE),
    ({"qos_overrides./qos/image.subscription.reliability": "reliable",
      "qos_overrides./qos/emotion.publisher.reliability": "best_effort",
      "qos_overrides./qos/emotion/annotated_image.publisher.reliability": "best_effort"},
     ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT, ReliabilityPolicy.BEST_EFFORT),
])
def test_qos_defaults_and_overrides(graph, overrides, image, emotion, annotated):
    # lazy false: the camera is subscribed with nobody listening, so its QoS can be read at once
    process = NodeProcess({"qos_overrides./qos/emotion.publisher.depth": 3, "lazy": False, **overrides},
                          namespace="/qos")
    try:
        process.wait_ready()
        assert reliability(graph, "/qos/image", publishers=False) == image
        assert reliability(graph, "/qos/emotion", publishers=True) == emotion
        assert reliability(graph, "/qos/emotion/annotated_image", publishers=True) == annotated
        depth = graph.get_parameter("/qos/fer_node", "qos_overrides./qos/emotion.publisher.depth")
        assert depth == 3
        expected = "reliable" if image == ReliabilityPolicy.RELIABLE else "best_effort"
        assert f"input=raw/{expected}" in process.output  # the ready line says what is in effect
    finally:
        assert process.stop() == 0, process.output
