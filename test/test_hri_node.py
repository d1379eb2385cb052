"""fer_node's REP-155 (ROS4HRI) output through real processes with hri_msgs: the topics, their types
and QoS, ids in /tracked matching the per-face topics, the mapping of each face's emotion, a face
leaving ending its publishers (none left over many faces coming and going), the managed node, the
start-up error without hri_msgs, YuNet's landmarks and both crops (none with Haar), and the README's
example run as printed. hri_msgs comes from the environment or ../shared/ros4hri
(test/hri_helpers.py); these tests skip with the reason where neither has it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from itertools import count, repeat

import numpy as np
import pytest
from lifecycle_msgs.msg import Transition
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.rep155 import EXPRESSIONS
from fer_ros.msg import FaceEmotion, FaceEmotionArray
from fer_ros.tools.harness import Answers, NodeProcess, stamp_ns
from fer_ros.tools.hri_graph import HriListener
from hri_helpers import hri_env, hri_msgs, without_hri_env
from ros_helpers import Graph, image_msg, wait_for

BLANK = np.full((480, 640, 3), 90, np.uint8)  # no face
PER_FACE_TOPICS = ("aligned", "cropped", "expression", "landmarks", "roi")  # each face's, sorted
TWO_FACES = 2 * len(PER_FACE_TOPICS)  # per-face publishers of two faces
# Reliable input: frames are sent one at a time and each is answered (none lost, none dropped).
BASE = {"hri_output": True, "input_reliability": "reliable", "detection_thread": False}


@pytest.fixture(scope="module")
def msgs():
    return hri_msgs()


@pytest.fixture(scope="module")
def graph(msgs):
    graph = Graph("fer_hri_test")
    yield graph
    graph.close()


def start(params: dict, executable: str = "fer_node", ready: str = "ready:") -> tuple[NodeProcess, str]:
    namespace = "/hri_" + uuid.uuid4().hex[:8]
    node = NodeProcess({**BASE, **params}, namespace=namespace, executable=executable, env=hri_env(), ready=ready)
    assert node.wait_ready(90), node.output
    return node, namespace


class Camera:
    """Sends frames one at a time and waits for each one's /emotion answer."""

    def __init__(self, graph: Graph, node: NodeProcess, namespace: str):
        self.answers = graph.listen(FaceEmotionArray, f"{namespace}/emotion", Answers())
        self.publisher = graph.image_publisher(f"{namespace}/image", qos=10)  # reliable, as the node's input
        graph.wait_for_node(node, self.publisher, f"{namespace}/emotion")
        self.node, self.ns = node, 100 * 10**9

    def send(self, frame: np.ndarray, seconds: float = 1 / 30) -> FaceEmotionArray:
        """Publish ``frame`` stamped ``seconds`` after the previous one; its answer."""
        self.ns += int(round(seconds * 1e9))
        msg = image_msg(frame, self.ns // 10**9, "hri_camera", self.ns % 10**9)
        self.publisher.publish(msg)
        answer = self.answers.wait_for(stamp_ns(msg.header), timeout=20)
        assert answer is not None, f"no /emotion for the frame at {self.ns} ns:\n{self.node.tail()}"
        return answer

    def send_until(self, frames: Iterator[np.ndarray], arrived: Callable[[FaceEmotionArray], bool],
                   tries: int = 20) -> list[FaceEmotionArray]:
        """Send the next of ``frames`` until ``arrived(answer)`` holds within a second of an answer;
        the answers. What a test waits for before frames whose every REP-155 message it checks: the
        node's publishers match a new subscription of ours in their own time (the graph may know
        them sooner), and a message that came through shows they did."""
        answers = []
        for _ in range(tries):
            answers.append(self.send(next(frames)))
            if wait_for(lambda: arrived(answers[-1]), 1.0):
                return answers
        raise AssertionError(f"nothing came through after {tries} frames:\n{self.node.tail()}")


def expected_expression(face: FaceEmotion) -> tuple[str, float]:
    """The Expression fer_ros.core.rep155 promises for one /emotion face."""
    if face.emotion == FaceEmotion.UNCERTAIN:
        return EXPRESSIONS[EMOTIONS[int(np.argmax(face.scores))]], 0.0
    return EXPRESSIONS[face.emotion], face.confidence


def test_expression_constants_are_the_mapping_targets(msgs):
    constants = {getattr(msgs.Expression, name) for name in
                 ("NEUTRAL", "ANGRY", "SAD", "HAPPY", "SURPRISED", "DISGUSTED", "SCARED")}
    assert set(EXPRESSIONS.values()) == constants


def test_faces_are_published_on_rep155_topics_with_types_qos_headers_and_the_mapping(graph, msgs, two_faces):
    node, ns = start({"confirm_sure_at_once": False})  # confirm_frames 2: a face appears on its second frame
    try:
        listener = HriListener(graph, msgs, ns)
        camera = Camera(graph, node, ns)
        # empty frames until one's /tracked came: the first frames' below are checked
        camera.send_until(repeat(BLANK), lambda a: listener.tracked_at(stamp_ns(a.header)) is not None)
        answers = [camera.send(two_faces) for _ in range(2)]
        assert answers[0].faces == [] and len(answers[1].faces) == 2
        ids = sorted(face.id for face in answers[1].faces)
        # as libhri, the listener subscribes to a face's topics once /tracked lists it: wait for them to
        # match before the frames whose every message is checked (volatile: earlier ones are not kept)
        assert wait_for(lambda: sorted(listener.live_ids) == ids)
        assert wait_for(lambda: all(graph.node.count_publishers(f"{ns}/humans/faces/{i}/{kind}") == 1
                                    for i in ids for kind in ("roi", "cropped", "expression")))
        answers += camera.send_until(repeat(two_faces), lambda a: all(
            listener.expression_at(i, stamp_ns(a.header)) and listener.crops.get(i)
            and any(stamp_ns(m.header) == stamp_ns(a.header) for _, m in listener.rois.get(i, ())) for i in ids))
        checked = [camera.send(two_faces) for _ in range(4)]
        answers += checked
        assert wait_for(lambda: all(listener.expression_at(i, stamp_ns(answers[-1].header)) for i in ids))

        # /tracked: one message per frame, with the frame's header; the confirmed faces, the ids of /emotion
        for answer in answers:
            tracked = listener.tracked_at(stamp_ns(answer.header))
            assert tracked is not None and sorted(tracked) == sorted(face.id for face in answer.faces)
        assert sorted(listener.subscribed) == ids

        # the per-face topics exist for exactly those ids, with their types and reliable, volatile QoS
        topics = dict(graph.node.get_topic_names_and_types())
        faces = sorted(t for t in topics if t.startswith(f"{ns}/humans/faces/face_"))
        kinds = PER_FACE_TOPICS
        assert faces == sorted(f"{ns}/humans/faces/{i}/{kind}" for i in ids for kind in kinds)
        assert topics[f"{ns}/humans/faces/tracked"] == ["hri_msgs/msg/IdsList"]
        for i in ids:
            assert topics[f"{ns}/humans/faces/{i}/roi"] == ["hri_msgs/msg/NormalizedRegionOfInterest2D"]
            assert topics[f"{ns}/humans/faces/{i}/cropped"] == ["sensor_msgs/msg/Image"]
            assert topics[f"{ns}/humans/faces/{i}/expression"] == ["hri_msgs/msg/Expression"]
            assert topics[f"{ns}/humans/faces/{i}/landmarks"] == ["hri_msgs/msg/FacialLandmarks"]
            assert topics[f"{ns}/humans/faces/{i}/aligned"] == ["sensor_msgs/msg/Image"]
        for topic in [f"{ns}/humans/faces/tracked", *faces]:
            (info,) = graph.node.get_publishers_info_by_topic(topic)
            assert info.qos_profile.reliability == ReliabilityPolicy.RELIABLE, topic
            assert info.qos_profile.durability == DurabilityPolicy.VOLATILE, topic

        # every frame once subscribed: roi and expression of each face, with the image's header
        for answer in checked:
            stamp = stamp_ns(answer.header)
            for face in answer.faces:
                _, expression = listener.expression_at(face.id, stamp)
                assert expression.header == answer.header
                assert (expression.expression, expression.confidence) == pytest.approx(expected_expression(face))
                assert (expression.valence, expression.arousal) == pytest.approx((face.valence, face.arousal))
                roi = next(m for _, m in listener.rois[face.id] if stamp_ns(m.header) == stamp)
                assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax) == pytest.approx(
                    (face.roi.x_offset / 640, face.roi.y_offset / 480, (face.roi.x_offset + face.roi.width) / 640,
                     (face.roi.y_offset + face.roi.height) / 480))
                assert roi.c == pytest.approx(face.detection_confidence)
        crop = listener.crops[ids[0]][-1][1]
        assert (crop.width, crop.height, crop.encoding) == (128, 128, "bgr8")
        assert crop.header.frame_id == "hri_camera"

        # hri_crop_size changes at run time; hri_output is read-only
        assert graph.set_parameters(f"{ns}/fer_node", hri_crop_size=96)[0].successful
        refused = graph.set_parameters(f"{ns}/fer_node", hri_output=False)[0]
        assert not refused.successful
        # two frames: a face gets no crop on a frame it coasts in (search_every 2: not found there)
        stamps = {stamp_ns(camera.send(two_faces).header) for _ in range(2)}
        assert wait_for(lambda: any(stamp_ns(m.header) in stamps for _, m in listener.crops[ids[0]]))
        crop = next(m for _, m in listener.crops[ids[0]] if stamp_ns(m.header) in stamps)
        assert (crop.width, crop.height) == (96, 96)
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def per_face_publishers(graph: Graph, ns: str) -> dict[str, int]:
    """Publishers of each per-face topic under ``ns`` the graph still shows."""
    topics = [t for t, _ in graph.node.get_topic_names_and_types() if t.startswith(f"{ns}/humans/faces/face_")]
    return {t: graph.node.count_publishers(t) for t in topics if graph.node.count_publishers(t)}


def test_a_face_leaving_ends_its_publishers_and_none_leak_over_many_faces(graph, msgs, two_faces):
    node, ns = start({"confirm_frames": 1, "track_max_age": 0.3})
    try:
        listener = HriListener(graph, msgs, ns)
        camera = Camera(graph, node, ns)
        seen: list[str] = []
        for cycle in range(8):  # two people come, stay 5 frames and leave: 16 faces in all
            answers = [camera.send(two_faces) for _ in range(5)]
            ids = sorted({face.id for answer in answers for face in answer.faces})
            assert len(ids) == 2 and not set(ids) & set(seen), (cycle, ids, seen)
            seen += ids
            assert wait_for(lambda: len(per_face_publishers(graph, ns)) == TWO_FACES), per_face_publishers(graph, ns)
            gone = camera.send(BLANK)  # gone, not yet expired: still tracked
            assert wait_for(lambda: sorted(listener.tracked_at(stamp_ns(gone.header)) or []) == ids)
            last = camera.send(BLANK, 0.4)  # absent 0.43 s > track_max_age: expired
            assert wait_for(lambda: listener.tracked_at(stamp_ns(last.header)) == [])
            assert wait_for(lambda: per_face_publishers(graph, ns) == {}), per_face_publishers(graph, ns)
        assert len(seen) == 16 and listener.subscribed == seen
        own = graph.node.get_publisher_names_and_types_by_node("fer_node", ns)
        assert not [name for name, _ in own if name.startswith(f"{ns}/humans/faces/face_")], own
        assert [name for name, _ in own if "humans" in name] == [f"{ns}/humans/faces/tracked"]
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def test_the_managed_node_ends_every_face_on_deactivate_and_publishes_again_on_activate(graph, msgs, two_faces):
    node, ns = start({"confirm_frames": 1}, executable="fer_lifecycle_node", ready="unconfigured:")
    try:
        name = f"{ns}/fer_node"
        assert graph.change_state(name, Transition.TRANSITION_CONFIGURE)
        assert graph.change_state(name, Transition.TRANSITION_ACTIVATE)
        listener = HriListener(graph, msgs, ns)
        camera = Camera(graph, node, ns)
        answer = camera.send(two_faces)
        assert wait_for(lambda: len(per_face_publishers(graph, ns)) == TWO_FACES)
        assert graph.change_state(name, Transition.TRANSITION_DEACTIVATE)
        assert wait_for(lambda: listener.tracked and listener.tracked[-1][2] == [])  # every face ended
        assert wait_for(lambda: per_face_publishers(graph, ns) == {})
        assert graph.change_state(name, Transition.TRANSITION_ACTIVATE)
        camera.publisher.publish(image_msg(two_faces, 300))
        assert wait_for(lambda: len(per_face_publishers(graph, ns)) == TWO_FACES, 20), node.tail()
        assert len(answer.faces) == 2
        assert graph.change_state(name, Transition.TRANSITION_DEACTIVATE)
        assert graph.change_state(name, Transition.TRANSITION_CLEANUP)
        assert wait_for(lambda: graph.node.count_publishers(f"{ns}/humans/faces/tracked") == 0)
        listener.close()
    finally:
        assert node.stop() == 0, node.output


@pytest.mark.parametrize("executable, params", [("fer_node", {"hri_output": True}),
                                                ("fer_lifecycle_node", {"hri_output": True}),
                                                ("fer_hri_recognizer", {})])
def test_without_hri_msgs_asking_for_rep155_fails_at_start_with_how_to_install_it(executable, params):
    env = without_hri_env()
    probe = subprocess.run([sys.executable, "-c", "import hri_msgs"], env=env, capture_output=True)
    if probe.returncode == 0:
        pytest.skip("hri_msgs is installed system-wide here: a machine without it cannot be imitated")
    node = NodeProcess(params, executable=executable, env=env)
    assert node.process.wait(timeout=60) == 1
    node.stop()
    lines = [line for line in node.lines if "hri_msgs" in line]
    assert len(lines) == 1, node.output
    assert "cannot start" in lines[0] and "apt install ros-" in lines[0] and "-hri-msgs" in lines[0], lines[0]


# --- landmarks and crops (YuNet), the README's snippet ---------------------------------------------

def stamped(received: list) -> dict[int, object]:
    """A listener's ``[(arrival ns, message)]`` of one face by the message's stamp (ns)."""
    return {stamp_ns(m.header): m for _, m in received}


def test_yunet_moving_faces_get_landmarks_in_their_roi_and_both_crops_for_every_id(graph, msgs, yunet_model):
    from fer_ros.bench.frames import SyntheticSequence
    from fer_ros.core.rep155 import LANDMARK_INDICES
    from fer_ros.tools.hri_graph import ALL_PER_FACE

    marks = msgs.FacialLandmarks
    assert LANDMARK_INDICES == (marks.RIGHT_PUPIL, marks.LEFT_PUPIL, marks.NOSE, marks.MOUTH_OUTER_RIGHT,
                                marks.MOUTH_OUTER_LEFT)
    sequence = SyntheticSequence(6, 1000)  # six faces moving in their grid cells; search_every 2: they coast
    node, ns = start({"detector": "yunet", "yunet_model": yunet_model, "hri_crop_size": 96})
    try:
        listener = HriListener(graph, msgs, ns, per_face=ALL_PER_FACE)  # every per-face topic, as libhri
        camera = Camera(graph, node, ns)
        frame = 0
        while len(camera.send(sequence.frame(frame)).faces) < 6 and frame < 10:
            frame += 1
        assert wait_for(lambda: len(listener.live_ids) == 6), listener.live_ids
        ids = sorted(listener.live_ids)
        assert wait_for(lambda: all(graph.node.count_publishers(f"{ns}/humans/faces/{i}/{kind}") == 1
                                    for i in ids for kind in PER_FACE_TOPICS))
        frames = (sequence.frame(k) for k in count(frame + 1))
        # as in the first test: every message of the frames below is checked once each topic delivered
        camera.send_until(frames, lambda a: all(store.get(i) for i in ids for store in (
            listener.rois, listener.landmarks, listener.crops, listener.aligned, listener.expressions)))
        answers = [camera.send(next(frames)) for _ in range(30)]
        assert wait_for(lambda: all(stamp_ns(answers[-1].header) in stamped(listener.expressions.get(i, []))
                                    for i in ids))

        pairs = landmarked = 0
        for answer in answers:
            stamp = stamp_ns(answer.header)
            for face_id in listener.tracked_at(stamp) or []:
                pairs += 1
                landmarks = stamped(listener.landmarks.get(face_id, [])).get(stamp)
                if landmarks is None:
                    continue
                landmarked += 1
                roi = stamped(listener.rois[face_id])[stamp]
                assert landmarks.header == answer.header and (landmarks.width, landmarks.height) == (640, 480)
                found = {k: p for k, p in enumerate(landmarks.landmarks) if p.c > 0}
                assert sorted(found) == sorted(LANDMARK_INDICES), found
                assert all(p.c == pytest.approx(roi.c) for p in found.values())
                assert all((p.x, p.y, p.c) == (0, 0, 0) for k, p in enumerate(landmarks.landmarks) if k not in found)
                for p in found.values():  # in the face's /roi of that frame
                    assert roi.xmin <= p.x <= roi.xmax and roi.ymin <= p.y <= roi.ymax, (face_id, p, roi)
                eyes, mouth = (found[marks.RIGHT_PUPIL], found[marks.LEFT_PUPIL]), (
                    found[marks.MOUTH_OUTER_RIGHT], found[marks.MOUTH_OUTER_LEFT])
                assert max(p.y for p in eyes) < min(p.y for p in mouth)
        assert pairs >= 0.9 * 6 * len(answers) and landmarked >= 0.9 * pairs, (landmarked, pairs)

        sent = {stamp_ns(answer.header) for answer in answers}
        for face_id in ids:  # both crops for every id, in colour at hri_crop_size
            for store in (listener.crops, listener.aligned):
                crops = [m for m in stamped(store.get(face_id, [])).values() if stamp_ns(m.header) in sent]
                assert crops, (face_id, sorted(store))
                assert {(m.width, m.height, m.encoding) for m in crops} == {(96, 96, "bgr8")}
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def test_with_haar_no_landmarks_are_published_and_the_crops_are_cut(graph, msgs, two_faces):
    from fer_ros.tools.hri_graph import ALL_PER_FACE

    node, ns = start({"confirm_frames": 1})
    try:
        listener = HriListener(graph, msgs, ns, per_face=ALL_PER_FACE)
        camera = Camera(graph, node, ns)
        ids = sorted(face.id for face in camera.send(two_faces).faces)
        assert len(ids) == 2
        assert wait_for(lambda: sorted(listener.live_ids) == ids)
        assert wait_for(lambda: all(graph.node.count_publishers(f"{ns}/humans/faces/{i}/{kind}") == 1
                                    for i in ids for kind in PER_FACE_TOPICS))
        # the other per-face topics delivered (landmarks, never sent with Haar, cannot show it)
        camera.send_until(repeat(two_faces), lambda a: all(store.get(i) for i in ids for store in (
            listener.rois, listener.crops, listener.aligned, listener.expressions)))
        answers = [camera.send(two_faces) for _ in range(4)]
        assert wait_for(lambda: all(listener.crops.get(i) and listener.aligned.get(i) for i in ids))
        assert wait_for(lambda: all(stamp_ns(answers[-1].header) in stamped(listener.expressions[i]) for i in ids))
        assert all(not listener.landmarks.get(i) for i in ids)  # Haar finds no landmarks: none sent
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def readme_snippet() -> str:
    """The README's ROS4HRI python example, as printed."""
    import re

    from conftest import REPO

    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    (snippet,) = [block for block in blocks if "/humans/faces/tracked" in block]
    return snippet


class CountingNode:
    """``graph.node`` for the README's snippet, noting the subscriptions it creates and destroys and
    the messages each one's callback is handed."""

    def __init__(self, node):
        self.node, self.alive, self.received = node, {}, {}

    def create_subscription(self, msg_type, topic, callback, qos):
        def counted(msg):
            self.received[topic] = self.received.get(topic, 0) + 1
            callback(msg)

        subscription = self.node.create_subscription(msg_type, topic, counted, qos)
        self.alive[subscription] = topic
        return subscription

    def destroy_subscription(self, subscription):
        del self.alive[subscription]
        return self.node.destroy_subscription(subscription)


def test_the_readme_snippet_subscribes_to_each_face_and_destroys_the_subscriptions_of_faces_that_left(
        graph, msgs, two_faces):
    node, ns = start({"confirm_frames": 1, "track_max_age": 0.3})
    counting = CountingNode(graph.node)
    scope = {"node": counting, "greet": lambda: None}
    try:
        camera = Camera(graph, node, ns)
        exec(readme_snippet().replace('"/humans/faces/', f'"{ns}/humans/faces/'), scope)  # in this namespace
        (tracked,) = [s for s, topic in counting.alive.items() if topic.endswith("/humans/faces/tracked")]
        assert wait_for(lambda: tracked.get_publisher_count() == 1)
        # fer_node's side matched too: an empty frame's /tracked reached the snippet
        camera.send_until(repeat(BLANK), lambda a: counting.received.get(f"{ns}/humans/faces/tracked"))
        seen = []
        for cycle in range(3):  # two people come, stay, and leave: 6 faces in all
            answers = [camera.send(two_faces) for _ in range(3)]
            ids = sorted({face.id for answer in answers for face in answer.faces})
            assert len(ids) == 2 and not set(ids) & set(seen), (cycle, ids, seen)
            seen += ids
            expression = {i: f"{ns}/humans/faces/{i}/expression" for i in ids}
            assert wait_for(lambda: sorted(scope["faces"]) == ids)
            assert sorted(counting.alive.values()) == sorted([*expression.values(), f"{ns}/humans/faces/tracked"])
            assert wait_for(lambda: all(graph.node.count_subscribers(t) == 1 for t in expression.values()))
            answers = [camera.send(two_faces) for _ in range(3)]
            assert wait_for(lambda: all(counting.received.get(t) for t in expression.values())), counting.received
            camera.send(BLANK)  # gone, not yet expired: still subscribed
            camera.send(BLANK, 0.4)  # absent 0.43 s > track_max_age: expired, its subscription destroyed
            assert wait_for(lambda: scope["faces"] == {}), scope["faces"]
            assert list(counting.alive.values()) == [f"{ns}/humans/faces/tracked"]
            assert wait_for(lambda: all(graph.node.count_subscribers(t) == 0 for t in expression.values()))
        assert len(seen) == 6
    finally:
        for subscription in list(counting.alive):
            counting.destroy_subscription(subscription)
        assert node.stop() == 0, node.output
