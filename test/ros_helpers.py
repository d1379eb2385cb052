"""Run fer_node in its own process and talk to it through real rclpy publishers and subscribers."""

from __future__ import annotations

import time

import cv2
import numpy as np
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter, parameter_value_to_python
from sensor_msgs.msg import Image

from fer_ros.core.image import FRAME_SIZE, letterbox
from fer_ros.node.conversions import bgr_to_image
from fer_ros.tools import harness


# These tests send a photo and look at the first answer: every face is reported at once unless a
# test sets confirm_frames itself (test_node checks the default confirmation through the node).
TEST_DEFAULTS = {"confirm_frames": 1}


class NodeProcess(harness.NodeProcess):
    """``fer_node`` (or ``executable``, e.g. ``fer_lifecycle_node``) started with ``-p`` parameters
    (over TEST_DEFAULTS) and remaps (and ``env`` in place of this process's environment); its log is
    collected in ``output``. ``wait_ready`` waits for the line ``ready``."""

    def __init__(self, params: dict | None = None, remaps: dict | None = None, namespace: str = "",
                 executable: str = "fer_node", ready: str = "ready:", env: dict | None = None):
        super().__init__({**TEST_DEFAULTS, **(params or {})}, remaps, namespace, executable, ready=ready, env=env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        if not super().wait_ready(timeout):
            raise AssertionError(f"fer_node did not start:\n{self.output}")

    def stop(self, timeout: float = 10.0) -> int:
        return super().stop(timeout)


class Graph(harness.Link):
    """A test-side rclpy node spun in a background thread."""

    def __init__(self, name: str = "fer_test"):
        super().__init__(name)

    def call(self, srv_type, service: str, request, timeout: float = 20.0):
        """Call ``service`` and return its response (AssertionError when it does not answer).
        A client that has not matched the server after 10 s is replaced once: in one CI run a
        lifecycle node's change_state stayed unmatched for 10 s right after its get_state answered."""
        client = self._ready_client(srv_type, service)
        try:
            future = client.call_async(request)
            assert wait_for(future.done, timeout), f"{service} did not answer"
            return future.result()
        finally:
            self.node.destroy_client(client)

    def _ready_client(self, srv_type, service: str):
        for _ in range(2):
            client = self.node.create_client(srv_type, service)
            if client.wait_for_service(timeout_sec=10):
                return client
            self.node.destroy_client(client)
        seen = sorted(name for name, _ in self.node.get_service_names_and_types())
        raise AssertionError(f"no service {service} after 2 x 10 s; the graph has {seen}")

    def set_parameters(self, node: str, **values) -> list:
        """``ros2 param set`` for several parameters of ``node`` (e.g. "/fer_node"), one call each,
        back to back; returns the SetParametersResults."""
        return [self.call(SetParameters, f"{node}/set_parameters", SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()])).results[0]
            for name, value in values.items()]

    def get_parameter(self, node: str, name: str):
        """``ros2 param get``: the value of one parameter of ``node``."""
        response = self.call(GetParameters, f"{node}/get_parameters", GetParameters.Request(names=[name]))
        return parameter_value_to_python(response.values[0])

    def change_state(self, node: str, transition: int) -> bool:
        """``ros2 lifecycle set``: trigger ``transition`` (a lifecycle_msgs/Transition id) of ``node``."""
        request = ChangeState.Request(transition=Transition(id=transition))
        return self.call(ChangeState, f"{node}/change_state", request).success

    def lifecycle_state(self, node: str) -> str:
        """``ros2 lifecycle get``: the label of ``node``'s current state."""
        return self.call(GetState, f"{node}/get_state", GetState.Request()).current_state.label


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_matched(publisher, timeout: float = 15.0) -> None:
    assert wait_for(lambda: publisher.get_subscription_count() > 0, timeout), "no subscriber matched"


def header(sec: int, nanosec: int = 0, frame_id: str = "test_camera"):
    return harness.header(sec, nanosec, frame_id)


def image_msg(bgr: np.ndarray, stamp_sec: int, frame_id: str = "test_camera", nanosec: int = 0) -> Image:
    return bgr_to_image(bgr, header(stamp_sec, nanosec, frame_id))


def send_until(publisher, make_msg, received: list, count: int = 1, timeout: float = 20.0, faces: int = 0):
    """Publish ``make_msg(i)`` every 0.3 s until ``received`` holds ``count`` messages (and, with
    ``faces``, one carrying that many faces); return sent messages."""
    sent = []
    deadline = time.monotonic() + timeout

    def done() -> bool:
        return len(received) >= count and (not faces or with_faces(received, faces) is not None)

    while not done() and time.monotonic() < deadline:
        msg = make_msg(len(sent))
        publisher.publish(msg)
        sent.append(msg)
        wait_for(done, 0.3)
    return sent


def with_faces(received: list, faces: int):
    """The first of ``received`` carrying ``faces`` faces, or None. A new scene's first frame gets a
    quick look that finds its larger faces; the smaller ones join from the full detection that ran
    beside it, a frame or two later (fer_ros.core.finder)."""
    return next((m for m in list(received) if len(m.faces) == faces), None)


def letterbox_file(path, size=FRAME_SIZE) -> np.ndarray:
    return letterbox(cv2.imread(str(path)), size)
