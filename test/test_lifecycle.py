"""fer_lifecycle_node, the managed variant of fer_node, driven through its lifecycle_msgs services
(what `ros2 lifecycle set` calls) in a real process, with a frame at each state."""

from __future__ import annotations

import ast
import re

import pytest
from lifecycle_msgs.msg import Transition

from fer_ros.msg import FaceEmotionArray
from ros_helpers import Graph, NodeProcess, image_msg, send_until, wait_for, with_faces

NODE = "/lc/fer_node"


@pytest.fixture(scope="module")
def graph():
    graph = Graph("lifecycle_test")
    yield graph
    graph.close()


def managed_node(**params) -> NodeProcess:
    process = NodeProcess(params, namespace="/lc", executable="fer_lifecycle_node", ready="unconfigured:")
    process.wait_ready()
    return process


def answered(graph, frame, stamp_sec: int, wait: float, faces: int = 0) -> list:
    """/lc/emotion messages answering frames published to /lc/image for up to ``wait`` seconds (or
    until one carries ``faces`` faces)."""
    emotions = graph.listen(FaceEmotionArray, "/lc/emotion")
    publisher = graph.image_publisher("/lc/image")
    send_until(publisher, lambda i: image_msg(frame, stamp_sec + i), emotions, timeout=wait, faces=faces)
    return emotions


def test_transitions_with_a_frame_at_each_state(graph, two_faces):
    process = managed_node()
    try:
        assert graph.lifecycle_state(NODE) == "unconfigured"
        assert not answered(graph, two_faces, 100, wait=1.5)

        assert graph.change_state(NODE, Transition.TRANSITION_CONFIGURE)
        assert graph.lifecycle_state(NODE) == "inactive"
        assert "models loaded" in process.output
        assert not answered(graph, two_faces, 200, wait=1.5)

        assert graph.change_state(NODE, Transition.TRANSITION_ACTIVATE)
        assert graph.lifecycle_state(NODE) == "active"
        emotions = answered(graph, two_faces, 300, wait=20, faces=2)
        assert with_faces(emotions, 2), process.output

        assert graph.change_state(NODE, Transition.TRANSITION_DEACTIVATE)
        assert graph.lifecycle_state(NODE) == "inactive"
        assert not answered(graph, two_faces, 400, wait=1.5)

        assert graph.change_state(NODE, Transition.TRANSITION_ACTIVATE)  # models were kept: no reload
        emotions = answered(graph, two_faces, 500, wait=20, faces=2)
        assert with_faces(emotions, 2), process.output
        assert process.output.count("models loaded") == 1, process.output

        assert graph.change_state(NODE, Transition.TRANSITION_DEACTIVATE)
        assert graph.change_state(NODE, Transition.TRANSITION_CLEANUP)
        assert graph.lifecycle_state(NODE) == "unconfigured"
        assert "models freed" in process.output
        assert not answered(graph, two_faces, 600, wait=1.5)

        # configured again, with the models built anew: face ids stay unique for the node's lifetime
        seen_before = {face.id for face in with_faces(emotions, 2).faces}
        assert graph.change_state(NODE, Transition.TRANSITION_CONFIGURE)
        assert graph.change_state(NODE, Transition.TRANSITION_ACTIVATE)
        again = with_faces(answered(graph, two_faces, 650, wait=20, faces=2), 2)
        assert again and not {f.id for f in again.faces} & seen_before
        assert graph.change_state(NODE, Transition.TRANSITION_DEACTIVATE)
        assert graph.change_state(NODE, Transition.TRANSITION_CLEANUP)

        assert graph.change_state(NODE, Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
        assert wait_for(lambda: "finalized" in process.output, 5), process.output
    finally:
        assert process.stop() == 0, process.output
    assert "Failed to publish log message" not in process.output  # the node was really destroyed
    counts = ast.literal_eval(re.search(r"frame counts: (\{.*\})", process.output).group(1))
    handled = sum(n for key, n in counts.items() if key == "processed" or key.startswith(("dropped_", "rejected_")))
    assert counts["processed"] >= 2 and handled == counts["received"], counts


def test_a_failing_configure_says_why_and_stays_unconfigured(graph, two_faces):
    process = managed_node(model="/nonexistent/model.onnx")
    try:
        assert not graph.change_state(NODE, Transition.TRANSITION_CONFIGURE)
        assert graph.lifecycle_state(NODE) == "unconfigured"
        assert "configure failed" in process.output and "/nonexistent/model.onnx does not exist" in process.output
        result, = graph.set_parameters(NODE, model="")  # while unconfigured a set is only validated ...
        assert result.successful, result.reason
        assert graph.change_state(NODE, Transition.TRANSITION_CONFIGURE)  # ... and configure builds it
        assert graph.change_state(NODE, Transition.TRANSITION_ACTIVATE)
        emotions = answered(graph, two_faces, 700, wait=20, faces=2)
        assert with_faces(emotions, 2), process.output
    finally:
        assert process.stop() == 0, process.output
