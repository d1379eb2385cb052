"""fer_node: camera images in, typed emotion messages and an annotated image out.

A thin adapter: converts messages to numpy, calls the ROS-free core, converts results back.
The image callback only stores the newest frame; one worker thread processes it, so a slow model
drops stale frames (counted) instead of queueing them.
"""

from __future__ import annotations

import sys
import threading
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.core.drawing import annotate
from fer_ros.core.errors import FerError, ImageFormatError
from fer_ros.core.latest import LatestSlot
from fer_ros.core.pipeline import EmotionPipeline
from fer_ros.core.stats import STALE, FrameStats, HealthThresholds, assess
from fer_ros.msg import FaceEmotionArray
from fer_ros.node import params
from fer_ros.node.conversions import bgr_to_image, image_to_bgr, result_to_msg
from fer_ros.node.diagnostics import diagnostic_array, no_input_message


class FerNode(Node):
    def __init__(self, **kwargs):
        super().__init__("fer_node", **kwargs)
        params.declare_parameters(self)
        self.values = params.read_all(self)  # ConfigError: fail fast
        self.pipeline = EmotionPipeline(params.pipeline_config(self.values))  # ModelError: fail fast
        self.stats = FrameStats()
        self._started = time.monotonic()
        self._slot = LatestSlot()
        self._pending: dict | None = None  # parameter values to apply before the next frame
        self._last_logged: dict[str, float] = {}  # kind of warning -> monotonic time it was last logged
        self.add_on_set_parameters_callback(self._on_set_parameters)

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.emotion_pub = self.create_publisher(FaceEmotionArray, "emotion", reliable)
        self.annotated_pub = self.create_publisher(
            Image, "emotion/annotated_image", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        image_qos = QoSProfile(depth=qos_profile_sensor_data.depth,
                               reliability=ReliabilityPolicy.BEST_EFFORT
                               if self.values["input_reliability"] == "best_effort" else ReliabilityPolicy.RELIABLE,
                               history=qos_profile_sensor_data.history)
        if self.values["input_transport"] == "compressed":
            self.image_sub = self.create_subscription(CompressedImage, "image/compressed", self._on_image,
                                                      image_qos)
        else:
            self.image_sub = self.create_subscription(Image, "image", self._on_image, image_qos)

        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(self.values["diagnostic_period"], self._publish_diagnostics)

        self._worker = threading.Thread(target=self._work, name="fer_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(self.pipeline.detector_choice)
        self.get_logger().info(
            f"ready: detector={self.pipeline.detector_name} model={self.pipeline.classifier.name} "
            f"input={self.values['input_transport']}/{self.values['input_reliability']}")

    # --- callbacks -------------------------------------------------------------------------------
    def _on_image(self, msg) -> None:
        self.stats.count("received")
        if self._slot.put((msg, time.monotonic())):
            self.stats.count("dropped_stale")

    def _on_set_parameters(self, changes):
        result = params.validate_change(self.values, changes)
        if result.successful:
            updated = dict(self.values)
            updated.update({change.name: change.value for change in changes})
            self._pending = updated
        return result

    # --- worker ----------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._slot.closed:
            item = self._slot.take(timeout=0.5)
            if item is None:
                continue
            try:
                self._process(*item)
            except Exception as error:  # one bad frame must never end the worker (the node would go silent)
                if not self.context.ok():  # SIGINT/SIGTERM shut ROS down mid-frame: nowhere to publish it
                    self.stats.count("dropped_at_shutdown")
                    continue
                self.stats.count("rejected_internal_error")
                self._log_throttled("internal_error", f"frame failed: {error!r}", error=True)

    def _log_throttled(self, kind: str, message: str, error: bool = False) -> None:
        """Log ``message`` unless one of the same ``kind`` was logged less than ``log_throttle_period``
        ago. Throttled per kind, so one cause cannot hide another (rclpy's ``throttle_duration_sec``
        is per call site, and raises ValueError when the period changes between calls)."""
        now = time.monotonic()
        last = self._last_logged.get(kind)
        if last is not None and now - last < self.values["log_throttle_period"]:
            return
        self._last_logged[kind] = now
        # One call site per severity: rclpy raises ValueError when a call site changes severity.
        if error:
            self.get_logger().error(message)
        else:
            self.get_logger().warning(message)

    def _apply_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        changed = {k for k in params.PIPELINE_FIELDS if pending[k] != self.values[k]}
        try:
            if changed:
                self.pipeline = EmotionPipeline(params.pipeline_config(pending))
            self.values = pending
            self.get_logger().info(f"parameters applied: {sorted(changed) or 'node settings'}")
        except FerError as error:
            self.get_logger().error(f"parameter change not applied, keeping the previous settings: {error}")

    def _process(self, msg, received_at: float) -> None:
        self._apply_pending()
        try:
            bgr = image_to_bgr(msg)
        except ImageFormatError as error:
            self.stats.count(f"rejected_{error.cause}")
            rejected = {k: v for k, v in self.stats.totals.items() if k.startswith("rejected_")}
            self._log_throttled(error.cause, f"frame rejected: {error} (rejected so far: {rejected})")
            return
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 or received_at
        result = self.pipeline.process(bgr, stamp)  # unforeseen errors: counted and logged by _work
        elapsed = time.monotonic() - received_at
        self.emotion_pub.publish(result_to_msg(result, msg.header, self.pipeline.classifier.name,
                                               self.pipeline.detector_name, elapsed))
        self.stats.add_latency({**result.timings, "total": elapsed})
        if self.values["publish_annotated"] and self.annotated_pub.get_subscription_count() > 0:
            drawn = annotate(bgr, result.faces, blur_faces=self.values["blur_faces"])
            self.annotated_pub.publish(bgr_to_image(drawn, msg.header))
        self.stats.count("processed")  # every output published: each frame is processed, dropped or rejected

    # --- health ----------------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        snap = self.stats.snapshot()
        v = self.values
        limits = HealthThresholds(v["stale_after"], v["warn_drop_ratio"], v["warn_latency"],
                                  v["error_reject_ratio"])
        level, message = assess(snap, limits)
        waited = time.monotonic() - self._started if snap.since_last_frame is None else snap.since_last_frame
        if level == STALE and waited > v["stale_after"]:
            topic = self.image_sub.topic_name
            self._log_throttled("no_input", no_input_message(topic, self.count_publishers(topic), waited,
                                                             v["input_reliability"].replace("_", "-")))
        extra = {"model": self.pipeline.classifier.name, "detector": self.pipeline.detector_name}
        self.diagnostics_pub.publish(diagnostic_array(
            snap, level, message, f"{self.get_fully_qualified_name()}: emotion recognition",
            self.get_fully_qualified_name(), extra, self.get_clock().now().to_msg()))

    def close(self) -> None:
        """Stop the worker and destroy the node, then log the frame counts. The context may already be
        shut down (SIGINT/SIGTERM), so they are logged once the node, and its rosout publisher, are gone."""
        self._slot.close()
        self._worker.join(timeout=5)
        counts = dict(self.stats.totals)
        self.destroy_node()
        rclpy.logging.get_logger("fer_node").info(f"frame counts: {counts}")


def main(args=None) -> None:
    rclpy.init(args=args if args is not None else sys.argv)
    try:
        node = FerNode()
    except (FerError, ParameterException) as error:
        rclpy.logging.get_logger("fer_node").fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        sys.exit(1)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():  # a real failure; otherwise a signal shut the context down mid-wait
            raise
    finally:
        node.close()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
