"""fer_hri_recognizer: our emotion classifier for the faces of a ROS4HRI face detector (REP-155).

    ros2 run fer_ros fer_hri_recognizer                  # beside hri_face_detect
    ros2 launch fer_ros fer.launch.py hri_recognizer:=true

It follows ``humans/faces/tracked`` (hri_msgs/IdsList) and, for every face id listed, subscribes to
``humans/faces/<id>/cropped`` (or ``/aligned``: parameter ``hri_input``) and publishes
``humans/faces/<id>/expression`` (hri_msgs/Expression, with the crop's header); both are created
when the id is first listed and destroyed when it leaves the list. The crops are classified by
fer_ros.core.crops (our crop geometry from the calibration of that detector's crops, the quality
gate, every waiting crop in one batch, smoothing and hysteresis per face id) and mapped to
Expression by fer_ros.core.rep155, exactly as fer_node's REP-155 output.

The crop callbacks only store the newest crop of each face; one worker thread classifies what is
waiting, so a slow model drops stale crops (counted, ``dropped_stale``) instead of queueing them.
Every crop received is counted once: processed, dropped (stale, or of a face no longer tracked) or
rejected (bad image, id not usable in a topic name); the counts are logged at shutdown.

Its parameters are the schema's (fer_ros.core.schema) that apply to crops: :data:`PARAMETERS`.
"""

from __future__ import annotations

import threading
import time

import rclpy
from rclpy.node import Node
from rcl_interfaces.msg import SetParametersResult
from sensor_msgs.msg import Image

from fer_ros.core import schema
from fer_ros.core.crops import Crop, CropRecognizer
from fer_ros.core.errors import ConfigError, ImageFormatError
from fer_ros.core.rep155 import expressions_of, is_topic_token
from fer_ros.core.stats import FrameStats
from fer_ros.node import params
from fer_ros.node.conversions import image_to_bgr
from fer_ros.node.fer_node import run
from fer_ros.node.hri import CROP_QOS, NAMESPACE, RELIABLE, hri_messages, stamp_seconds
from fer_ros.node.throttled_log import ThrottledLog

NODE_NAME = "fer_hri_recognizer"
# The schema's parameters that apply to crops; the first group is read at start only.
AT_START = ("hri_input", "classifier_backend", "model", "num_threads")
LIVE = ("smoothing_time_constant", "hysteresis", "uncertain_below", "min_sharpness", "log_throttle_period")
PARAMETERS = AT_START + LIVE


class _Face:
    """One tracked face: its crop subscription and its expression publisher."""

    def __init__(self, subscription, publisher):
        self.subscription, self.publisher = subscription, publisher


class HriRecognizer(Node):
    """fer_hri_recognizer: loads the classifier at start (a bad parameter, model file or missing
    hri_msgs ends it at once with the reason) and follows the tracked faces."""

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        for name in PARAMETERS:
            spec = schema.spec(name)
            self.declare_parameter(name, spec.default, params.descriptor(spec))
        self.values = {name: self.get_parameter(name).value for name in PARAMETERS}
        for name, value in self.values.items():
            schema.check(name, value)  # ConfigError: fail fast
        self.msgs = hri_messages(NODE_NAME)
        self.recognizer = CropRecognizer.from_values(self.values, self.values["hri_input"])  # ModelError: fail fast
        self.stats = FrameStats()
        self._lock = threading.Condition()  # guards faces, _pending and _changed; wakes the worker
        self.faces: dict[str, _Face] = {}
        self._pending: dict[str, tuple[Image, float]] = {}  # face id -> (newest crop, monotonic receipt)
        self._changed = False  # live parameters set, not yet applied by the worker
        self._closed = False
        self._log_throttled = ThrottledLog(self.get_logger(), lambda: self.values["log_throttle_period"])
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.tracked_sub = self.create_subscription(self.msgs.IdsList, f"{NAMESPACE}/tracked", self._on_tracked,
                                                    RELIABLE)
        self._worker = threading.Thread(target=self._work, name="fer_hri_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"ready: model={self.recognizer.classifier.name} input={NAMESPACE}/<id>/{self.values['hri_input']} "
            f"following {self.tracked_sub.topic_name}")

    # --- callbacks (executor thread) ------------------------------------------------------------
    def _on_tracked(self, msg) -> None:
        """Subscribe to the crops of each newly listed face and publish its expression; stop both
        for each face no longer listed."""
        listed = []
        for face_id in msg.ids:
            if is_topic_token(face_id):
                listed.append(face_id)
            else:
                self.stats.count("rejected_bad_id")
                self._log_throttled("bad_id", f"face id {face_id!r} cannot stand in a topic name; ignored")
        with self._lock:
            for face_id in [f for f in self.faces if f not in listed]:
                face = self.faces.pop(face_id)
                self.destroy_subscription(face.subscription)
                self.destroy_publisher(face.publisher)
                if self._pending.pop(face_id, None) is not None:
                    self.stats.count("dropped_untracked")
            for face_id in listed:
                if face_id not in self.faces:
                    self.faces[face_id] = self._open_face(face_id)

    def _open_face(self, face_id: str) -> _Face:
        """The crop subscription and expression publisher of ``face_id`` (a topic name token)."""
        prefix = f"{NAMESPACE}/{face_id}"
        subscription = self.create_subscription(
            Image, f"{prefix}/{self.values['hri_input']}", lambda msg: self._on_crop(face_id, msg), CROP_QOS)
        return _Face(subscription, self.create_publisher(self.msgs.Expression, f"{prefix}/expression", RELIABLE))

    def _on_crop(self, face_id: str, msg: Image) -> None:
        self.stats.count("received")
        with self._lock:
            if face_id not in self.faces:  # a crop that was on its way when the face left the list
                self.stats.count("dropped_untracked")
                return
            if self._pending.get(face_id) is not None:
                self.stats.count("dropped_stale")
            self._pending[face_id] = (msg, time.monotonic())
            self._lock.notify()

    def _on_set_parameters(self, changes) -> SetParametersResult:
        """Smoothing, quality and logging settings apply before the next batch; the crop source and
        the classifier are read at start only."""
        updated = dict(self.values)
        for change in changes:
            if change.name not in PARAMETERS:
                continue  # not ours (use_sim_time ...): rclpy's
            if change.name in AT_START:
                return SetParametersResult(successful=False, reason=f"{NODE_NAME} reads {change.name} at start "
                                                                    "only; restart it to change it")
            try:
                schema.check(change.name, change.value)
            except ConfigError as error:
                return SetParametersResult(successful=False, reason=str(error))
            updated[change.name] = change.value
        with self._lock:
            self.values, self._changed = updated, True
        return SetParametersResult(successful=True)

    # --- worker ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._pending or self._closed, timeout=0.5)
                if self._closed:
                    return
                batch, self._pending = self._pending, {}
                tracked, changed, self._changed = set(self.faces), self._changed, False
                values = self.values
            if changed:
                self.recognizer.smoother.configure(values["smoothing_time_constant"], values["hysteresis"],
                                                   values["uncertain_below"])
                self.recognizer.min_sharpness = values["min_sharpness"]
            if not batch:
                continue
            try:
                self._process(batch, tracked)
            except Exception as error:  # one bad batch must never end the worker
                if not self.context.ok():
                    self.stats.count("dropped_at_shutdown", len(batch))
                    continue
                self.stats.count("rejected_internal_error", len(batch))
                self._log_throttled("internal_error", f"crops failed: {error!r}", error=True)

    def _process(self, batch: dict[str, tuple[Image, float]], tracked: set[str]) -> None:
        started = time.monotonic()
        crops, headers, received = [], [], []
        for face_id, (msg, received_at) in batch.items():
            try:
                bgr = image_to_bgr(msg)
            except ImageFormatError as error:
                self.stats.count(f"rejected_{error.cause}")
                self._log_throttled(error.cause, f"crop of {face_id} rejected: {error}")
                continue
            crops.append(Crop(face_id, bgr, stamp_seconds(msg.header)))
            headers.append(msg.header)
            received.append(received_at)
        self.recognizer.forget(tracked)
        faces = self.recognizer.recognize(crops)
        classified = time.monotonic()
        with self._lock:  # a face leaving the list meanwhile has lost its publisher
            for face, values, header, received_at in zip(faces, expressions_of(faces), headers, received):
                entry = self.faces.get(face.track_id)
                if entry is None:
                    self.stats.count("dropped_untracked")
                    continue
                entry.publisher.publish(self.msgs.Expression(
                    header=header, expression=values.expression, valence=values.valence, arousal=values.arousal,
                    confidence=values.confidence))
                self.stats.count("processed")
                self.stats.add_latency({"classification": classified - started,
                                        "total": time.monotonic() - received_at})

    def close(self) -> None:
        """Stop the worker and destroy the node, then log the crop counts."""
        with self._lock:
            self._closed = True
            waiting = len(self._pending)
            self._lock.notify_all()
        self._worker.join(timeout=5)
        if waiting:
            self.stats.count("dropped_at_shutdown", waiting)
        counts = dict(self.stats.totals)
        self.destroy_node()
        rclpy.logging.get_logger(NODE_NAME).info(f"crop counts: {counts}")


def main(args=None) -> None:
    run(HriRecognizer, args)


if __name__ == "__main__":
    main()
