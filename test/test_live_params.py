"""Run-time parameter changes of a real fer_node process: none lost, node settings at once, a
rebuild that would fail refused at set time, tracking and smoothing changes keeping face ids."""

from __future__ import annotations

import ast
import re

import pytest
from diagnostic_msgs.msg import DiagnosticArray

from fer_ros.msg import FaceEmotion, FaceEmotionArray
from ros_helpers import Graph, NodeProcess, image_msg, send_until, wait_for, wait_matched, with_faces

NODE = "/live/fer_node"


@pytest.fixture(scope="module")
def graph():
    graph = Graph("live_params_test")
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def node():
    process = NodeProcess(namespace="/live")  # /live/image in, /live/emotion out
    process.wait_ready()
    yield process
    assert process.stop() == 0, process.output


def answers(graph, frame, stamp_sec: int, count: int = 1, faces: int = 0) -> list:
    """Publish ``frame`` to the node until ``count`` /live/emotion messages came back (and, with
    ``faces``, one carrying that many faces); return them."""
    emotions = graph.listen(FaceEmotionArray, "/live/emotion")
    publisher = graph.image_publisher("/live/image")
    wait_matched(publisher)
    send_until(publisher, lambda i: image_msg(frame, stamp_sec + i), emotions, count=count, faces=faces)
    assert len(emotions) >= count, "no /live/emotion answer"
    return emotions


def test_two_sets_back_to_back_both_apply_to_the_next_frame(graph, node, two_faces):
    assert with_faces(answers(graph, two_faces, 100, faces=2), 2)
    try:
        results = graph.set_parameters(NODE, max_faces=1, uncertain_below=0.99)
        assert all(r.successful for r in results), [r.reason for r in results]
        faces = answers(graph, two_faces, 200)[0].faces
        assert len(faces) == 1, node.output  # max_faces, the first set, was not lost
        assert faces[0].emotion == FaceEmotion.UNCERTAIN  # nor uncertain_below, the second
    finally:
        assert all(r.successful for r in graph.set_parameters(NODE, max_faces=10, uncertain_below=0.4))


def test_a_smoothing_and_hysteresis_change_keeps_face_ids(graph, node, two_faces):
    emotions = graph.listen(FaceEmotionArray, "/live/emotion")
    publisher = graph.image_publisher("/live/image")
    wait_matched(publisher)
    stamps = iter(range(10_000))  # 0.1 s apart in image time, well inside track_max_age

    def frame(_):
        step = next(stamps)
        return image_msg(two_faces, 3000 + step // 10, nanosec=(step % 10) * 100_000_000)

    send_until(publisher, frame, emotions, count=2)
    before = {face.id for face in emotions[-1].faces}
    assert len(before) == 2
    results = graph.set_parameters(NODE, hysteresis=0.3, smoothing_time_constant=1.5, track_iou_threshold=0.2)
    assert all(r.successful for r in results), [r.reason for r in results]
    names = {"hysteresis", "smoothing_time_constant", "track_iou_threshold"}
    assert wait_for(lambda: names <= applied(node.output), 5), node.output  # applied between frames
    seen = len(emotions)
    send_until(publisher, frame, emotions, count=seen + 2)
    assert {face.id for face in emotions[-1].faces} == before, node.output
    assert all(r.successful for r in graph.set_parameters(
        NODE, hysteresis=0.1, smoothing_time_constant=0.5, track_iou_threshold=0.3))


def applied(output: str) -> set[str]:
    """Every parameter name the node logged as applied."""
    return {name for line in re.findall(r"parameters applied: (\[.*?\])", output)
            for name in ast.literal_eval(line)}


def test_a_model_that_does_not_exist_is_refused_and_get_keeps_the_old_value(graph, node, two_faces):
    old = graph.get_parameter(NODE, "model")
    model_in_use = answers(graph, two_faces, 400)[0].model
    result, = graph.set_parameters(NODE, model="/nonexistent/model.onnx")
    assert not result.successful
    assert "/nonexistent/model.onnx does not exist" in result.reason, result.reason
    assert graph.get_parameter(NODE, "model") == old
    assert answers(graph, two_faces, 500)[0].model == model_in_use  # still working, on the old model


def test_a_new_model_is_built_at_set_time_and_used_from_the_next_frame(graph, node, two_faces):
    default = answers(graph, two_faces, 800)[0].model
    try:
        result, = graph.set_parameters(NODE, model="fast")
        assert result.successful, result.reason
        msg = answers(graph, two_faces, 900)[0]
        assert msg.model != default and len(msg.faces) == 2, node.output
    finally:
        assert graph.set_parameters(NODE, model="")[0].successful
    assert answers(graph, two_faces, 1000)[0].model == default


def test_a_node_setting_applies_without_frames(graph, two_faces):
    """stale_after changed while no camera runs: the diagnostics level follows at once."""
    process = NodeProcess({"stale_after": 0.5, "diagnostic_period": 0.2}, namespace="/livediag")
    try:
        process.wait_ready()
        diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
        ours = lambda: [m.status[0] for m in diagnostics  # noqa: E731
                        if m.status[0].hardware_id == "/livediag/fer_node"]
        emotions = graph.listen(FaceEmotionArray, "/livediag/emotion")
        publisher = graph.image_publisher("/livediag/image")
        wait_matched(publisher)
        send_until(publisher, lambda i: image_msg(two_faces, 600 + i), emotions)
        assert emotions, process.output
        # ... and then the camera stops
        seen = len(ours())
        assert wait_for(lambda: any(s.level == b"\x03" for s in ours()[seen:]), 5), "no STALE after input stopped"
        result, = graph.set_parameters("/livediag/fer_node", stale_after=3600.0)
        assert result.successful, result.reason
        seen = len(ours())
        assert wait_for(lambda: any(s.level == b"\x00" for s in ours()[seen:]), 5), \
            [s.message for s in ours()[seen:]]
        assert "stale_after" in applied(process.output)
    finally:
        assert process.stop() == 0, process.output
