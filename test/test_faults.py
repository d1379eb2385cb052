"""Faults injected into a real fer_node process (test/fault_node.py wraps its detector or classifier):
a detector that raises in the background thread, one that hangs, a classifier that raises once.
Each time the node keeps answering (with its tracked faces), /diagnostics reports the cause at WARN
or ERROR, a managed node deactivates and frees its models during a hang, and nothing crashes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import Transition

from fer_ros.msg import FaceEmotionArray
from ros_helpers import Graph, NodeProcess, image_msg, wait_for

FAULT_NODE = Path(__file__).resolve().parent / "fault_node.py"
RATE = 15.0  # frames a second, stamped 1/RATE s apart
WARN, ERROR = DiagnosticStatus.WARN[0], DiagnosticStatus.ERROR[0]


@pytest.fixture(scope="module")
def graph():
    graph = Graph("fault_test")
    yield graph
    graph.close()


def fault_node(fault: str, namespace: str, tmp_path: Path, lifecycle: bool = False, **params) -> NodeProcess:
    env = {**os.environ, "FER_TEST_FAULT": fault, "FER_TEST_RELEASE": str(tmp_path / "release"),
           "FER_TEST_NODE": "lifecycle" if lifecycle else "fer_node"}
    process = NodeProcess({"diagnostic_period": 0.2, **params}, namespace=namespace, executable=str(FAULT_NODE),
                          ready="unconfigured:" if lifecycle else "ready:", env=env)
    process.wait_ready()
    return process


class Stream:
    """A camera in a thread: ``frame`` published at RATE with stamps RATE apart; the node's answers
    and its /diagnostics statuses collected."""

    def __init__(self, graph: Graph, namespace: str, frame):
        self.answers = graph.listen(FaceEmotionArray, f"{namespace}/emotion")
        self.diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
        self.node_id = f"{namespace}/fer_node"
        self._publisher = graph.image_publisher(f"{namespace}/image")
        self._frame, self._stop = frame, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        index = 0
        while not self._stop.wait(1 / RATE):
            stamp = 1000 + index / RATE
            self._publisher.publish(image_msg(self._frame, int(stamp), nanosec=int(stamp % 1 * 1e9)))
            index += 1

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def statuses(self, level: int | None = None) -> list:
        found = [s for m in list(self.diagnostics) for s in m.status if s.hardware_id == self.node_id]
        return [s for s in found if level is None or s.level[0] == level]

    def counters(self) -> dict[str, str]:
        found = self.statuses()
        return {kv.key: kv.value for kv in found[-1].values} if found else {}


def seconds(answer) -> float:
    """The image time of an answer (its header stamp), in seconds."""
    return answer.header.stamp.sec + answer.header.stamp.nanosec / 1e9


def line_index(process: NodeProcess, text: str) -> int | None:
    return next((i for i, line in enumerate(list(process.lines)) if text in line), None)


def assert_clean_exit(process: NodeProcess) -> None:
    assert process.stop() == 0, process.output
    assert "Traceback" not in process.output, process.output


def test_a_detector_raising_in_the_background_costs_no_frame(graph, two_faces, tmp_path):
    process = fault_node("detector_raises", "/fault_raise", tmp_path)
    stream = Stream(graph, "/fault_raise", two_faces)
    try:
        assert wait_for(lambda: line_index(process, "fault injected: detector raises") is not None, 30), process.output
        struck = len(stream.answers)
        # it fails again every detection_interval; the frames go on with the two tracked faces
        assert wait_for(lambda: int(stream.counters().get("fault detection_failed (total)", 0)) >= 2, 30), \
            stream.counters()
        answers = list(stream.answers)[struck:]
        assert len(answers) >= 10 and all(len(a.faces) == 2 for a in answers), [len(a.faces) for a in answers]
        warned = [s for s in stream.statuses(WARN) if "injected detector fault" in s.message]
        assert warned and "background face detection failed" in warned[0].message, stream.statuses()
        assert any("background face detection failed" in line and "WARN" in line for line in process.lines)
    finally:
        stream.stop()
        assert_clean_exit(process)


def test_a_detector_hanging_for_5_s_in_the_background_costs_no_frame(graph, two_faces, tmp_path):
    process = fault_node("detector_hangs", "/fault_hang", tmp_path)
    stream = Stream(graph, "/fault_hang", two_faces)
    try:
        assert wait_for(lambda: line_index(process, "fault injected: detector hangs") is not None, 30), process.output
        struck = len(stream.answers)

        def answered_through_the_hang() -> bool:  # the hang the issue names: 5 s of images, 30 answers at least
            during = list(stream.answers)[struck:]
            return len(during) >= 30 and seconds(during[-1]) - seconds(during[0]) >= 5.0

        # it hangs until the test releases it (fault_node.py: 30 s at most)
        assert wait_for(answered_through_the_hang, 25), f"{len(stream.answers) - struck} answers during the hang"
        assert wait_for(lambda: [s for s in stream.statuses(WARN) if "still running" in s.message], 10), \
            [s.message for s in stream.statuses()]
        assert line_index(process, "hang over") is None
        during = list(stream.answers)[struck:]
        assert all(len(a.faces) == 2 for a in during), [len(a.faces) for a in during]
        (tmp_path / "release").touch()
        assert wait_for(lambda: line_index(process, "hang over") is not None, 10)
        after = len(stream.answers)
        assert wait_for(lambda: len(stream.answers) >= after + 10, 20)  # and on it goes
    finally:
        (tmp_path / "release").touch()
        stream.stop()
        assert_clean_exit(process)


def test_a_managed_node_deactivates_and_frees_its_models_during_a_hang(graph, two_faces, tmp_path):
    node = "/fault_lc/fer_node"
    process = fault_node("detector_hangs", "/fault_lc", tmp_path, lifecycle=True)
    stream = Stream(graph, "/fault_lc", two_faces)
    try:
        assert graph.change_state(node, Transition.TRANSITION_CONFIGURE)
        assert graph.change_state(node, Transition.TRANSITION_ACTIVATE)
        assert wait_for(lambda: line_index(process, "fault injected: detector hangs") is not None, 30), process.output
        # past detection_interval (of image time) the detection is overdue, and frames no longer wait for it
        assert wait_for(lambda: [s for s in stream.statuses(WARN) if "still running" in s.message], 20), \
            [s.message for s in stream.statuses()]
        assert graph.change_state(node, Transition.TRANSITION_DEACTIVATE)
        assert graph.lifecycle_state(node) == "inactive"
        assert graph.change_state(node, Transition.TRANSITION_CLEANUP)
        assert graph.lifecycle_state(node) == "unconfigured"
        assert line_index(process, "hang over") is None, "the transitions waited for the hung detector"
        assert graph.change_state(node, Transition.TRANSITION_CONFIGURE)  # a new pipeline while the old thread hangs
        assert graph.change_state(node, Transition.TRANSITION_ACTIVATE)
        answered = len(stream.answers)
        assert wait_for(lambda: len(stream.answers) >= answered + 5, 20)
    finally:
        (tmp_path / "release").touch()
        stream.stop()
        assert_clean_exit(process)


def test_a_classifier_raising_once_costs_that_frame_only(graph, two_faces, tmp_path):
    process = fault_node("classifier_raises_once", "/fault_cls", tmp_path)
    stream = Stream(graph, "/fault_cls", two_faces)
    try:
        assert wait_for(lambda: line_index(process, "fault injected: classifier raises") is not None, 30), process.output
        struck = len(stream.answers)
        assert wait_for(lambda: len(stream.answers) >= struck + 10, 20)
        assert all(len(a.faces) == 2 for a in list(stream.answers)[struck:])
        assert wait_for(lambda: stream.counters().get("rejected internal_error (total)") == "1", 10), stream.counters()
        errors = [s for s in stream.statuses(ERROR) if "injected classifier fault" in s.message]
        assert errors, [s.message for s in stream.statuses()]
        assert any("frame failed" in line and "ERROR" in line for line in process.lines)
    finally:
        stream.stop()
        assert_clean_exit(process)
