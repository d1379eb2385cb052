"""fer_node end to end in its own process, through real rclpy publishers and subscribers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.core import schema
from fer_ros.core.emotions import EMOTIONS
from fer_ros.msg import FaceEmotion, FaceEmotionArray
from ros_helpers import Graph, NodeProcess, header, image_msg, send_until, wait_for, wait_matched, with_faces


@pytest.fixture(scope="module")
def graph():
    graph = Graph()
    yield graph
    graph.close()


@pytest.fixture(scope="module")
def node():
    process = NodeProcess(remaps={"image": "/node_test/image"})
    process.wait_ready()
    yield process
    assert process.stop() == 0, process.output


def test_message_constants_are_the_seven_labels():
    assert [getattr(FaceEmotion, name.upper()) for name in EMOTIONS] == list(EMOTIONS)


def test_two_faces_give_typed_results_with_the_source_header(graph, node, two_faces):
    emotions = graph.listen(FaceEmotionArray, "/emotion")
    annotated = graph.listen(Image, "/emotion/annotated_image")
    publisher = graph.image_publisher("/node_test/image")
    wait_matched(publisher)
    assert wait_for(lambda: node.process.poll() is None and graph.node.count_subscribers("/emotion/annotated_image") > 0)
    # the first frame's quick look finds the larger face, the full detection beside it the other
    sent = send_until(publisher, lambda i: image_msg(two_faces, 100 + i, "cam_front"), emotions, faces=2)
    assert emotions, f"no /emotion message:\n{node.output}"
    msg = with_faces(emotions, 2)
    assert msg, [len(m.faces) for m in emotions]
    assert msg.header in [s.header for s in sent]
    assert msg.header.frame_id == "cam_front"
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert msg.model and msg.detector == "haar"
    assert len(msg.faces) == 2
    for face in msg.faces:
        assert list(face.labels) == list(EMOTIONS)
        for vector in (np.array(face.scores), np.array(face.raw_scores)):
            assert vector.shape == (7,) and np.all(vector >= 0) and abs(vector.sum() - 1) < 1e-4
        scores = np.array(face.scores)
        assert face.confidence == pytest.approx(scores.max())
        if face.emotion != FaceEmotion.UNCERTAIN:  # first sight of a face: the label is the argmax
            assert face.emotion == EMOTIONS[int(scores.argmax())]
        assert face.quality == FaceEmotion.QUALITY_OK and face.sharpness > 50
        assert -1 <= face.valence <= 1 and -1 <= face.arousal <= 1
        assert face.id.startswith("face_")
        assert face.roi.x_offset + face.roi.width <= 640 and face.roi.y_offset + face.roi.height <= 480
    assert len({face.id for face in msg.faces}) == 2
    assert wait_for(lambda: len(annotated) > 0), "no annotated image"
    image = annotated[0]
    assert (image.width, image.height, image.encoding) == (640, 480, "bgr8")
    assert image.header in [s.header for s in sent]


def test_unsupported_encoding_is_reported_and_the_node_keeps_running(graph, node, two_faces):
    emotions = graph.listen(FaceEmotionArray, "/emotion")
    publisher = graph.image_publisher("/node_test/image")
    wait_matched(publisher)
    bad = Image(header=header(300), height=2, width=2, encoding="bayer_rggb8", step=2, data=bytes(4))
    for _ in range(20):  # best effort: repeat until the node has seen one
        publisher.publish(bad)
        if wait_for(lambda: "unsupported image encoding 'bayer_rggb8'" in node.output, 0.5):
            break
    assert "unsupported image encoding 'bayer_rggb8'" in node.output, node.output
    send_until(publisher, lambda i: image_msg(two_faces, 301 + i), emotions)
    assert emotions and emotions[0].header.stamp.sec >= 301 and len(emotions[0].faces) == 2


def _set(graph, name: str, value: int):
    return graph.set_parameters("/fer_node", **{name: value})[0]


def test_parameters_are_validated_and_applied_at_run_time(graph, node, two_faces):
    rejected = _set(graph, "max_faces", 0)
    assert not rejected.successful and "max_faces" in rejected.reason
    assert _set(graph, "max_faces", 1).successful
    emotions = graph.listen(FaceEmotionArray, "/emotion")
    publisher = graph.image_publisher("/node_test/image")
    wait_matched(publisher)
    send_until(publisher, lambda i: image_msg(two_faces, 400 + i), emotions)
    assert emotions and len(emotions[0].faces) == 1
    assert _set(graph, "max_faces", schema.DEFAULTS["max_faces"]).successful


def test_compressed_input(graph, two_faces):
    process = NodeProcess({"input_transport": "compressed", "publish_annotated": False},
                          remaps={"image/compressed": "/cmp/image/compressed", "emotion": "/cmp/emotion"})
    try:
        process.wait_ready()
        emotions = graph.listen(FaceEmotionArray, "/cmp/emotion")
        publisher = graph.image_publisher("/cmp/image/compressed", CompressedImage)
        wait_matched(publisher)
        jpeg = cv2.imencode(".jpg", two_faces)[1].tobytes()
        corrupt = CompressedImage(header=header(499), format="jpeg", data=jpeg[:100])
        for _ in range(20):  # best effort: repeat until the node has seen one
            publisher.publish(corrupt)
            if wait_for(lambda: "could not be decoded" in process.output, 0.5):
                break
        assert "could not be decoded" in process.output, process.output
        send_until(publisher, lambda i: CompressedImage(header=header(500 + i), format="jpeg", data=jpeg), emotions,
                   faces=2)
        assert with_faces(emotions, 2), [len(m.faces) for m in emotions]
    finally:
        assert process.stop() == 0, process.output


@pytest.mark.parametrize("params, expected", [
    ({"model": "/nonexistent/model.onnx"}, "/nonexistent/model.onnx does not exist"),
    ({"detector": "yunet"}, "needs a model file"),
    ({"detector": "mtcnn"}, "mtcnn"),
])
def test_startup_problems_fail_fast_with_the_fix(params, expected):
    process = NodeProcess(params)
    code = process.process.wait(timeout=30)
    process._reader.join(timeout=5)
    assert code == 1, process.output
    assert expected in process.output


def test_diagnostics_report_counts_and_turn_stale_without_input(graph, two_faces):
    process = NodeProcess({"stale_after": 1.0, "diagnostic_period": 0.2, "blur_faces": True},
                          remaps={"image": "/diag/image", "emotion": "/diag/emotion",
                                  "emotion/annotated_image": "/diag/annotated"})
    try:
        process.wait_ready()
        diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
        emotions = graph.listen(FaceEmotionArray, "/diag/emotion")
        annotated = graph.listen(Image, "/diag/annotated")
        ours = lambda: [m.status[0] for m in diagnostics if m.status[0].hardware_id == "/fer_node"]  # noqa: E731
        assert wait_for(lambda: any(s.level == b"\x03" for s in ours())), "no STALE before input"
        # ... and a log line that names the topic and what to check (no publisher of it exists yet)
        assert wait_for(lambda: "no images on /diag/image" in process.output, 5), process.output
        assert "no publisher of it is seen" in process.output and "FASTDDS_" in process.output
        publisher = graph.image_publisher("/diag/image")
        wait_matched(publisher)
        assert wait_for(lambda: graph.node.count_publishers("/diag/annotated") > 0)
        send_until(publisher, lambda i: image_msg(two_faces, 600 + i), annotated, count=1)
        def processed(status):
            return int({kv.key: kv.value for kv in status.values}["processed frames (total)"])

        # After a frame: OK, or WARN when this machine is slower than warn_latency; never STALE/ERROR.
        assert wait_for(lambda: any(s.level in (b"\x00", b"\x01") and processed(s) >= 1 for s in ours()), 5), \
            [s.message for s in ours()]
        values = {kv.key: kv.value for kv in [s for s in ours() if processed(s) >= 1][-1].values}
        assert values["model"] == emotions[0].model and values["clock"] == "system"
        stale_count = sum(s.level == b"\x03" for s in ours())
        assert wait_for(lambda: sum(s.level == b"\x03" for s in ours()) > stale_count, 5), "camera stop not seen"
        # blur_faces: the face regions of the annotated image are smoothed, the rest is untouched
        face = emotions[0].faces[0].roi
        drawn = np.frombuffer(bytes(annotated[0].data), np.uint8).reshape(480, 640, 3)
        inner = (slice(face.y_offset + 10, face.y_offset + face.height - 10),
                 slice(face.x_offset + 10, face.x_offset + face.width - 10))
        assert cv2.Laplacian(drawn[inner], cv2.CV_64F).var() < cv2.Laplacian(two_faces[inner], cv2.CV_64F).var() / 4
    finally:
        assert process.stop() == 0, process.output


def test_worker_survives_mixed_log_severities_and_counts_frames_cut_off_by_shutdown(two_faces):
    """In-process: a warning and an error logged through the node's throttle (rclpy refuses one call
    site logging at two severities, which once could end the worker thread), and a frame whose
    result cannot be published because ROS shut down mid-frame: counted, not called a failure."""
    import rclpy

    from fer_ros.node.fer_node import FerNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = FerNode(context=context)
    try:
        node._log_throttled("first", "a warning")
        node._log_throttled("second", "an error", error=True)
        context.shutdown()
        node._slot.put((image_msg(two_faces, 900), 0.0))
        assert wait_for(lambda: node.stats.totals.get("dropped_at_shutdown") == 1, 20), node.stats.totals
        assert not any(k.startswith("rejected_") for k in node.stats.totals), node.stats.totals
    finally:
        node.close()
        rclpy.try_shutdown(context=context)


def test_at_the_default_confirmation_a_face_is_published_from_its_second_frame(graph, two_faces):
    """Through the node at the default confirm_frames (2), sure faces waiting like the others
    (confirm_sure_at_once false): the first answer carries no face, the next ones both faces of the
    photo, under the ids they were first seen with."""
    from fer_ros.core.pipeline import PipelineConfig

    confirm = PipelineConfig().confirm_frames
    assert confirm == 2
    process = NodeProcess({"confirm_frames": confirm, "confirm_sure_at_once": False, "publish_annotated": False,
                           "diagnostic_period": 0.2},
                          remaps={"image": "/confirm/image", "emotion": "/confirm/emotion",
                                  "/diagnostics": "/confirm/diagnostics"})
    try:
        process.wait_ready()
        emotions = graph.listen(FaceEmotionArray, "/confirm/emotion")
        publisher = graph.image_publisher("/confirm/image")
        wait_matched(publisher)
        # 0.1 s apart in image time, as a 10 Hz camera (a dropped frame must not expire the track)
        send_until(publisher, lambda i: image_msg(two_faces, 900 + i // 10, nanosec=i % 10 * 100_000_000),
                   emotions, count=3)
        assert len(emotions[0].faces) == 0, process.output
        assert [len(m.faces) for m in emotions[1:3]] == [2, 2]
        assert {f.id for f in emotions[1].faces} == {f.id for f in emotions[2].faces}
        diagnostics = graph.listen(DiagnosticArray, "/confirm/diagnostics")

        def awaiting():  # the face the first frame's quick look found, counted while it waited (the other
            # joined from the full detection beside it, seen in two frames: confirmed at once)
            values = [{kv.key: kv.value for kv in m.status[0].values} for m in list(diagnostics)]
            return values and int(values[-1]["faces awaiting confirmation (total)"]) >= 1
        assert wait_for(awaiting, 5), process.output
    finally:
        assert process.stop() == 0, process.output


def test_spin_ends_on_a_shutdown_that_did_not_wake_its_wait():
    """In-process: the context is shut down while the executor waits, with nothing to wake it, as
    rclpy's signal thread does when its wake-up came first (a fer_lifecycle_node ignored a SIGTERM
    in CI). fer_node's spin ends; ``rclpy.spin`` waits on for ever."""
    import threading

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from fer_ros.node.fer_node import spin_until_shutdown

    context = rclpy.Context()
    rclpy.init(args=[], context=context)  # a context of its own: no signal handlers installed
    node = rclpy.create_node("spin_test", context=context)
    executor = SingleThreadedExecutor(context=context)
    ended = []

    def spin():
        try:
            spin_until_shutdown(node, executor, poll=0.1)
        except ExternalShutdownException:
            pass
        ended.append(True)

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        assert not wait_for(lambda: ended, 0.5)  # idle: it waits
        context.handle.shutdown()  # what the signal thread calls: no on_shutdown callback, no wake-up
        assert wait_for(lambda: ended, 5), "the executor did not see the shutdown"
    finally:
        executor.shutdown(timeout_sec=1)
        node.destroy_node()


def test_with_nobody_listening_the_node_leaves_the_camera_alone_and_says_so(graph, two_faces):
    """lazy (the default): no subscriber on emotion, the annotated image or REP-155 means no camera
    subscription and diagnostics that say idle; the first subscriber gets answers, the last one
    leaving makes it idle again. lazy false: subscribed with nobody listening."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    process = NodeProcess({"diagnostic_period": 0.2},
                          remaps={"image": "/lazy/image", "emotion": "/lazy/emotion",
                                  "emotion/annotated_image": "/lazy/annotated"})
    eager = NodeProcess({"lazy": False}, remaps={"image": "/eager/image", "emotion": "/eager/emotion"},
                        namespace="/eager")
    try:
        process.wait_ready()
        eager.wait_ready()
        diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
        ours = lambda: [m.status[0] for m in diagnostics if m.status[0].hardware_id == "/fer_node"]  # noqa: E731
        camera = graph.image_publisher("/lazy/image")
        assert wait_for(lambda: any(s.level == b"\x00" and s.message.startswith("idle") for s in ours())), \
            [s.message for s in ours()]
        assert graph.node.count_subscribers("/lazy/image") == 0 and "no images on" not in process.output
        assert wait_for(lambda: graph.node.count_subscribers("/eager/image") == 1)  # lazy false: subscribed

        emotions = []
        listener = graph.node.create_subscription(FaceEmotionArray, "/lazy/emotion", emotions.append,
                                                  QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        wait_matched(camera)  # the node subscribed to the camera once it saw a listener
        send_until(camera, lambda i: image_msg(two_faces, 800 + i), emotions, count=2)
        assert len(emotions) >= 2 and emotions[-1].faces
        assert "subscribed to the camera (input=raw/best_effort): a subscriber appeared" in process.output

        graph.node.destroy_subscription(listener)
        assert wait_for(lambda: graph.node.count_subscribers("/lazy/image") == 0), "still subscribed to the camera"
        seen = len(ours())
        assert wait_for(lambda: len(ours()) > seen and ours()[-1].message.startswith("idle"))
    finally:
        assert process.stop() == 0, process.output
        assert eager.stop() == 0, eager.output
