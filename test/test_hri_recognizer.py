"""fer_hri_recognizer through real processes with hri_msgs: a stand-in for a ROS4HRI face detector
publishes /humans/faces/tracked and each face's crops, a subscriber reads /humans/faces/<id>/expression.
Every emotion reaches it as its Expression constant, blurred crops as confidence 0, the crops of the
packaged photos as the core classifies them; ids leaving the list end their publishers; bad ids and
bad crops are counted and the node runs on. Skips with the reason where hri_msgs is not to be had."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from fer_ros.core import schema
from fer_ros.core.crops import Crop, CropRecognizer
from fer_ros.core.detectors import create_detector
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.rep155 import EXPRESSIONS, expression_of
from fer_ros.node.conversions import bgr_to_image
from fer_ros.tools.harness import NodeProcess, header, stamp_ns
from fer_ros.tools.hri_graph import DetectorStandIn, HriListener
from fer_models import hri_crops
from hri_helpers import brightness_model, hri_env, hri_msgs, level_of
from ros_helpers import Graph, wait_for


@pytest.fixture(scope="module")
def msgs():
    return hri_msgs()


@pytest.fixture(scope="module")
def graph(msgs):
    graph = Graph("fer_hri_recognizer_test")
    yield graph
    graph.close()


def start(params: dict) -> tuple[NodeProcess, str]:
    namespace = "/hrirec_" + uuid.uuid4().hex[:8]
    node = NodeProcess(params, namespace=namespace, executable="fer_hri_recognizer", env=hri_env())
    assert node.wait_ready(90), node.output
    return node, namespace


def track(graph: Graph, detector: DetectorStandIn, listener: HriListener, ids: list[str], node: NodeProcess) -> None:
    """List ``ids`` until the recognizer subscribes to each one's crops and the listener sees each
    one's expression publisher."""
    ns = detector.prefix

    def ready():
        detector.track(ids, header(1))
        return detector.subscribed(ids) and all(graph.node.count_publishers(f"{ns}/{i}/expression") for i in ids)

    assert wait_for(ready, 30, 0.2), node.tail()
    assert wait_for(lambda: sorted(listener.live_ids) == sorted(ids))
    wait_for(lambda: False, 0.5)  # discovery settles on the recognizer's side too


def flat(level: int) -> np.ndarray:
    return np.full((128, 128, 3), level, np.uint8)


def test_every_emotion_reaches_a_subscriber_as_its_expression_constant_and_blur_as_confidence_zero(
        graph, msgs, tmp_path):
    model = brightness_model(tmp_path)
    node, ns = start({"model": model, "min_sharpness": 0.0})
    try:
        detector = DetectorStandIn(graph, msgs, ns)
        listener = HriListener(graph, msgs, ns, per_face=("expression",))
        ids = [f"emotion_{label}" for label in EMOTIONS]
        track(graph, detector, listener, ids, node)
        stamped = header(10, 0, "crop_camera")
        for k, face_id in enumerate(ids):
            detector.publish_crop(face_id, bgr_to_image(flat(level_of(k)), stamped))
        assert wait_for(lambda: all(listener.expression_at(i, stamp_ns(stamped)) for i in ids)), node.tail()
        for k, face_id in enumerate(ids):
            _, expression = listener.expression_at(face_id, stamp_ns(stamped))
            assert expression.header == stamped
            assert expression.expression == EXPRESSIONS[EMOTIONS[k]]
            assert expression.confidence > 0.99
        assert {getattr(msgs.Expression, name) for name in ("ANGRY", "DISGUSTED", "SCARED", "HAPPY", "SAD",
                                                           "SURPRISED", "NEUTRAL")} == set(EXPRESSIONS.values())

        # the quality gate: flat crops are blurred once min_sharpness is above 0
        assert graph.set_parameters(f"{ns}/fer_hri_recognizer", min_sharpness=50.0)[0].successful
        refused = graph.set_parameters(f"{ns}/fer_hri_recognizer", model="fast")[0]
        assert not refused.successful and "at start only" in refused.reason
        later = header(11, 0, "crop_camera")
        for k, face_id in enumerate(ids):
            detector.publish_crop(face_id, bgr_to_image(flat(level_of(k)), later))
        assert wait_for(lambda: all(listener.expression_at(i, stamp_ns(later)) for i in ids)), node.tail()
        for k, face_id in enumerate(ids):
            _, expression = listener.expression_at(face_id, stamp_ns(later))
            assert (expression.expression, expression.confidence) == (EXPRESSIONS[EMOTIONS[k]], 0.0)
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def test_crops_of_the_packaged_photos_are_classified_as_the_core_classifies_them(graph, msgs, two_faces):
    """hri_face_detect's /cropped rule applied to the faces of the packaged photos (Haar boxes here:
    YuNet is not packaged); the first crop of a face has no history, so the process must give what
    CropRecognizer gives in this process."""
    node, ns = start({})
    try:
        boxes = sorted(create_detector("haar").detect(two_faces), key=lambda b: b.x)  # astronaut, Hopper
        crops = [hri_crops.cropped(two_faces, box) for box in boxes]
        ids = ["astro", "hoppr"]
        expected = CropRecognizer.from_values(dict(schema.DEFAULTS)).recognize(
            [Crop(i, c, 20.0) for i, c in zip(ids, crops)])
        detector = DetectorStandIn(graph, msgs, ns)
        listener = HriListener(graph, msgs, ns, per_face=("expression",))
        track(graph, detector, listener, ids, node)
        stamped = header(20, 0, "crop_camera")
        for face_id, crop in zip(ids, crops):
            detector.publish_crop(face_id, bgr_to_image(crop, stamped))
        assert wait_for(lambda: all(listener.expression_at(i, stamp_ns(stamped)) for i in ids)), node.tail()
        for face_id, face in zip(ids, expected):
            _, expression = listener.expression_at(face_id, stamp_ns(stamped))
            values = expression_of(face)
            assert expression.expression == values.expression
            assert (expression.confidence, expression.valence, expression.arousal) == pytest.approx(
                (values.confidence, values.valence, values.arousal), abs=1e-5)
        assert listener.expression_at("astro", stamp_ns(stamped))[1].expression == msgs.Expression.HAPPY
        listener.close()
    finally:
        assert node.stop() == 0, node.output


def test_faces_leaving_end_their_publishers_and_bad_ids_and_crops_are_counted(graph, msgs, two_faces):
    node, ns = start({})
    try:
        detector = DetectorStandIn(graph, msgs, ns)
        listener = HriListener(graph, msgs, ns, per_face=("expression",))
        track(graph, detector, listener, ["abcde", "fghij"], node)
        # "9lives" cannot be a topic name token: listed directly (the stand-in would need a publisher for it)
        detector.tracked_pub.publish(msgs.IdsList(header=header(2), ids=["abcde", "fghij", "9lives"]))
        assert wait_for(lambda: "'9lives' cannot stand in a topic name" in node.output), node.tail()
        bad = bgr_to_image(flat(100), header(30))
        bad.encoding = "bayer_rggb8"
        detector.publish_crop("abcde", bad)
        assert wait_for(lambda: "crop of abcde rejected: unsupported image encoding" in node.output), node.tail()
        good = header(31)
        detector.publish_crop("abcde", bgr_to_image(hri_crops.cropped(two_faces, create_detector("haar").detect(
            two_faces)[0]), good))
        assert wait_for(lambda: listener.expression_at("abcde", stamp_ns(good)) is not None), node.tail()

        detector.track(["fghij"], header(3))  # abcde leaves: its expression publisher goes
        assert wait_for(lambda: graph.node.count_publishers(f"{ns}/humans/faces/abcde/expression") == 0)
        assert graph.node.count_publishers(f"{ns}/humans/faces/fghij/expression") == 1
        detector.track([], header(4))
        assert wait_for(lambda: graph.node.count_publishers(f"{ns}/humans/faces/fghij/expression") == 0)
        own = graph.node.get_publisher_names_and_types_by_node("fer_hri_recognizer", ns)
        assert not [name for name, _ in own if "/humans/faces/" in name], own
        listener.close()
    finally:
        assert node.stop() == 0, node.output
    counts = next(line for line in node.lines if "crop counts:" in line)
    assert "'rejected_bad_id': 1" in counts and "'rejected_unsupported_encoding': 1" in counts
    assert "'received': 2" in counts and "'processed': 1" in counts, counts
