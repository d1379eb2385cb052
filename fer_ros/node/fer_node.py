"""fer_node: camera images in, typed emotion messages and an annotated image out.

A thin adapter: converts messages to numpy, calls the ROS-free core, converts results back.
The image callback only stores the newest frame; one worker thread processes it, so a slow model
drops stale frames (counted) instead of queueing them. :class:`EmotionNodeCore` holds all of it, so
that ``fer_node`` (:class:`FerNode`, starts processing at once) and its managed variant
``fer_lifecycle_node`` (:mod:`fer_ros.node.lifecycle_node`) share one copy.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.core.drawing import annotate
from fer_ros.core.errors import FerError, ImageFormatError
from fer_ros.core.latest import LatestSlot
from fer_ros.core.pipeline import EmotionPipeline
from fer_ros.core.stats import OK, STALE, FrameStats, HealthThresholds, assess
from fer_ros.core.events import FaceEvents
from fer_ros.msg import FaceEmotionArray, FaceEmotionEvent
from fer_ros.node import hri, params
from fer_ros.node.conversions import bgr_to_image, event_to_msg, image_to_bgr, result_to_msg
from fer_ros.node.diagnostics import clock_description, diagnostic_array, no_input_message
from fer_ros.node.live_params import NODE_FIELDS, LiveParameters
from fer_ros.node.throttled_log import ThrottledLog


# Seconds between looks for subscribers to the outputs (lazy): a first subscriber's frames start within
# about this plus discovery
WATCH_PERIOD = 0.25
EVENTS_DEPTH = 100  # emotion/events keeps the last this many for a slow subscriber (reliable)
IDLE_MESSAGE = ("idle: nobody subscribes to emotion, the annotated image or the REP-155 topics, so the camera "
                "is not subscribed (parameter lazy)")


class EmotionNodeCore:
    """Parameters and their live changes, the image callback, the worker, processing and diagnostics.

    Mixed into an rclpy ``Node`` or ``LifecycleNode``, whose ``__init__`` calls ``_init_core()``; the
    node then loads the models (``_load``), creates its outputs (``_open_outputs``) and subscribes
    (``_subscribe``) at once (fer_node) or on lifecycle transitions (fer_lifecycle_node). Frames are
    processed only while subscribed; every received frame is counted once as processed, dropped or
    rejected.
    """

    def _init_core(self) -> None:
        params.declare_parameters(self)
        self.live = LiveParameters(params.read_all(self))  # ConfigError: fail fast
        if self.values["hri_output"]:
            hri.hri_messages()  # ConfigError saying how to install hri_msgs: fail fast
        self.pipeline: EmotionPipeline | None = None
        self._face_numbers = itertools.count()  # face ids unique for the node's lifetime, across model reloads
        self.stats = FrameStats()
        self._waiting_since = time.monotonic()  # when the camera was last subscribed
        self._slot = LatestSlot()
        self._frame_lock = threading.Lock()  # held by the worker while it applies a change or processes a frame
        self._active = False  # started (activated): diagnostics published, the camera subscribed while wanted
        self._watch_timer = None  # looks for subscribers to the outputs (lazy)
        self._log_throttled = ThrottledLog(self.get_logger(), lambda: self.values["log_throttle_period"])
        self.image_sub = self.emotion_pub = self.annotated_pub = self.events_pub = self.diagnostics_pub = None
        self.events = FaceEvents(self.values["track_max_age"])  # appeared, changed, left (emotion/events)
        self._last_frame: tuple[float, float, str] | None = None  # (image stamp, monotonic, frame_id) of the last one
        self.hri: hri.HriOutput | None = None  # REP-155 output (hri_output)
        self._diagnostics_timer = None
        self._input_reliability = self.values["input_reliability"]
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._worker = threading.Thread(target=self._work, name="fer_worker", daemon=True)
        self._worker.start()

    @property
    def values(self) -> dict:
        """The parameter values in effect."""
        return self.live.values

    # --- models, outputs, input -------------------------------------------------------------------
    def _load(self) -> None:
        """Build the pipeline from the accepted parameters (ConfigError, ModelError with the reason)."""
        pipeline = EmotionPipeline(params.pipeline_config(self.live.accepted), self._face_numbers)
        with self._frame_lock:
            self.pipeline = pipeline
            self.live.loaded()
        self.get_logger().info(pipeline.detector_choice)

    def _unload(self) -> None:
        """Free the detector and classifier."""
        with self._frame_lock:
            if self.pipeline is not None:
                self.pipeline.close()
            self.pipeline = None
            self.live.unloaded()

    def _open_outputs(self, create_publisher) -> None:
        """Publishers (made by ``create_publisher``: a plain or a lifecycle one) and the diagnostics
        timer. ``emotion`` and ``emotion/annotated_image`` take QoS overrides from parameters
        (``qos_overrides./emotion.publisher.reliability`` ...), as image_pipeline's nodes do.

        The timer runs on the steady clock, not the node's: with ``use_sim_time`` a node clock
        stands still until /clock is published (and while a bag is paused), and diagnostics, with
        the warning that no image arrives, are wanted most then. Their stamps are the node's time."""
        overrides = QoSOverridingOptions.with_default_policies()
        self.emotion_pub = create_publisher(
            FaceEmotionArray, "emotion", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE),
            qos_overriding_options=overrides)
        self.annotated_pub = create_publisher(
            Image, "emotion/annotated_image", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE),
            qos_overriding_options=overrides)
        # Reliable and deep: a behaviour node must get every event, in order (msg/FaceEmotionEvent.msg)
        self.events_pub = create_publisher(
            FaceEmotionEvent, "emotion/events", QoSProfile(depth=EVENTS_DEPTH, reliability=ReliabilityPolicy.RELIABLE),
            qos_overriding_options=overrides)
        self.diagnostics_pub = create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.hri = hri.HriOutput(self) if self.values["hri_output"] else None
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._diagnostics_timer = self.create_timer(self.values["diagnostic_period"], self._publish_diagnostics,
                                                    clock=steady)
        self._watch_timer = self.create_timer(WATCH_PERIOD, self._update_input, clock=steady)

    def _close_outputs(self, destroy_publisher) -> None:
        for timer in (self._diagnostics_timer, self._watch_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self._watch_timer = None
        for publisher in (self.emotion_pub, self.annotated_pub, self.events_pub, self.diagnostics_pub):
            if publisher is not None:
                destroy_publisher(publisher)
        self.emotion_pub = self.annotated_pub = self.events_pub = self.diagnostics_pub = self._diagnostics_timer = None
        if self.hri is not None:
            self.hri.close()
            self.hri = None

    def _subscribe(self) -> None:
        """Start: subscribe to the camera now, or (``lazy``) as soon as an output has a subscriber."""
        self._active = True
        self._update_input()

    def listeners(self) -> int:
        """Subscriptions to the outputs that answer frames: emotion, its events, the annotated image
        (when it is published) and the REP-155 topics; /diagnostics does not count."""
        count = sum(p.get_subscription_count() for p in (self.emotion_pub, self.events_pub) if p is not None)
        if self.values["publish_annotated"] and self.annotated_pub is not None:
            count += self.annotated_pub.get_subscription_count()
        return count + (self.hri.listeners() if self.hri is not None else 0)

    @property
    def idle(self) -> bool:
        """Started, but not subscribed to the camera because nobody listens (``lazy``)."""
        return self._active and self.image_sub is None

    def _update_input(self) -> None:
        """Subscribe to the camera while the node is started and someone listens (or not ``lazy``);
        unsubscribe when the last listener has gone. Runs every WATCH_PERIOD and on start; also lets
        faces leave when the camera stops sending (:meth:`_expire_faces`)."""
        self._expire_faces()
        wanted = self._active and (not self.values["lazy"] or self.listeners() > 0)
        if wanted and self.image_sub is None:
            self._open_input()
            self.get_logger().info(f"subscribed to the camera (input={self._input_description()})"
                                   + (": a subscriber appeared" if self.values["lazy"] else ""))
        elif not wanted and self.image_sub is not None:
            self._close_input()
            self.get_logger().info(IDLE_MESSAGE)

    def _expire_faces(self) -> None:
        """With no frame coming, the faces still leave once unseen for track_max_age: image time is
        taken as the last frame's stamp plus the time since it arrived. While the worker holds the
        frame lock a frame is being processed, which lets faces leave itself: this look is skipped
        rather than holding up the executor (and the image callback) behind it."""
        if not self._frame_lock.acquire(blocking=False):
            return
        try:
            last = self._last_frame
            if last is not None and self.events.ids:
                stamp, arrived, frame_id = last
                self._publish_events(self.events.expire(stamp + time.monotonic() - arrived), frame_id)
        finally:
            self._frame_lock.release()

    def _publish_events(self, events, frame_id: str) -> None:
        if self.events_pub is not None:
            for event in events:
                self.events_pub.publish(event_to_msg(event, frame_id))

    def _open_input(self) -> None:
        """Subscribe to the camera. Sensor-data QoS with ``input_reliability``, overridable by
        ``qos_overrides.<image topic>.subscription.*`` parameters."""
        image_qos = QoSProfile(depth=qos_profile_sensor_data.depth,
                               reliability=ReliabilityPolicy.BEST_EFFORT
                               if self.values["input_reliability"] == "best_effort" else ReliabilityPolicy.RELIABLE,
                               history=qos_profile_sensor_data.history)
        msg_type, topic = ((CompressedImage, "image/compressed") if self.values["input_transport"] == "compressed"
                           else (Image, "image"))
        self._waiting_since = time.monotonic()
        self.image_sub = self.create_subscription(
            msg_type, topic, self._on_image, image_qos,
            qos_overriding_options=QoSOverridingOptions.with_default_policies())
        self._input_reliability = image_qos.reliability.name.lower()  # after the overrides were applied

    def _unsubscribe(self) -> None:
        """Stop (deactivate): no camera, no diagnostics."""
        self._active = False
        self._close_input()

    def _close_input(self) -> None:
        """Unsubscribe from the camera: the frame in flight is finished and published first; a frame
        waiting in the slot, or arriving while the subscription goes, is counted as ``dropped_inactive``."""
        with self._frame_lock:
            if self.hri is not None:  # every face ends while nothing is processed
                self.hri.clear()
            last = self._last_frame
            self._publish_events(self.events.clear(None if last is None else last[0]), last[2] if last else "")
            self._last_frame = None
        if self.image_sub is not None:
            self.destroy_subscription(self.image_sub)
            self.image_sub = None
        if self._slot.take(timeout=0) is not None:
            self.stats.count("dropped_inactive")

    def _input_description(self) -> str:
        """``raw/best_effort``: the transport and the reliability in effect (after QoS overrides), or
        that the camera is not subscribed yet (lazy)."""
        if self.image_sub is None:
            return f"{self.values['input_transport']}, subscribed once someone listens (lazy)"
        return f"{self.values['input_transport']}/{self._input_reliability}"

    def _log_ready(self) -> None:
        self.get_logger().info(
            f"ready: detector={self.pipeline.detector_name} model={self.pipeline.classifier.name} "
            f"input={self._input_description()}")

    # --- callbacks -------------------------------------------------------------------------------
    def _on_image(self, msg) -> None:
        self.stats.count("received")
        if self._slot.put((msg, time.monotonic())):
            self.stats.count("dropped_stale")

    def _on_set_parameters(self, changes):
        """Validate and prepare at set time (a refused change keeps the old value, with the reason);
        node-level settings apply at once, pipeline changes before the next frame."""
        result = self.live.on_set(changes, self.pipeline)
        node_level = sorted(change.name for change in changes if change.name in NODE_FIELDS)
        if result.successful and node_level:
            self.get_logger().info(f"parameters applied: {node_level}")
        return result

    # --- worker ----------------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._slot.closed:
            item = self._slot.take(timeout=0.5)
            with self._frame_lock:
                self._apply_pending()  # also without frames: `param get` and diagnostics agree within 0.5 s
                if item is None:
                    continue
                if not self._active or self.pipeline is None:
                    self.stats.count("dropped_inactive")
                    continue
                try:
                    self._process(*item)
                except Exception as error:  # one bad frame must never end the worker (the node would go silent)
                    if not self.context.ok():  # SIGINT/SIGTERM shut ROS down mid-frame: nowhere to publish it
                        self.stats.count("dropped_at_shutdown")
                        continue
                    self.stats.count("rejected_internal_error")
                    self.stats.fault("internal_error", f"frame failed: {error!r}")
                    self._log_throttled("internal_error", f"frame failed: {error!r}", error=True)

    def _apply_pending(self) -> None:
        if self.pipeline is None:
            return
        try:
            changed = self.live.apply_pending(self.pipeline)
        except Exception as error:  # never expected (apply only swaps prepared parts); keep the worker alive
            self._log_throttled("apply_failed", f"parameter change not applied: {error!r}", error=True)
            return
        if changed:
            self.get_logger().info(f"parameters applied: {sorted(changed)}")

    def _process(self, msg, received_at: float) -> None:
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
        self.events.max_age = self.values["track_max_age"]
        self._publish_events(self.events.update(result.faces, stamp), msg.header.frame_id)
        self._last_frame = (stamp, received_at, msg.header.frame_id)
        self.stats.add_latency({**result.timings, "total": elapsed})
        if self.hri is not None:
            self.hri.publish(msg.header, bgr, result)
        if result.unconfirmed:  # seen, not yet in a message (confirm_frames): counted, not dropped silently
            self.stats.count("faces_unconfirmed", result.unconfirmed)
        for fault in result.faults:  # beside the frame (e.g. the background detection): counted and logged
            self.stats.fault(fault.kind, fault.message)
            self._log_throttled(fault.kind, fault.message)
        if self.values["publish_annotated"] and self.annotated_pub.get_subscription_count() > 0:
            drawn = annotate(bgr, result.faces, blur_faces=self.values["blur_faces"])
            self.annotated_pub.publish(bgr_to_image(drawn, msg.header))
        self.stats.count("processed")  # every output published: each frame is processed, dropped or rejected

    # --- health ----------------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        pipeline, publisher = self.pipeline, self.diagnostics_pub
        if not self._active or pipeline is None or publisher is None:
            return
        snap = self.stats.snapshot()
        v = self.values
        limits = HealthThresholds(v["stale_after"], v["warn_drop_ratio"], v["warn_latency"],
                                  v["error_reject_ratio"])
        level, message = assess(snap, limits)
        sub = self.image_sub
        if self.idle:  # lazy, nobody listening: nothing is expected from the camera
            level, message = OK, IDLE_MESSAGE
        waited = time.monotonic() - self._waiting_since if snap.since_last_frame is None else snap.since_last_frame
        if level == STALE and sub is not None and waited > v["stale_after"]:
            topic = sub.topic_name
            self._log_throttled("no_input", no_input_message(topic, self.count_publishers(topic), waited,
                                                             self._input_reliability.replace("_", "-")))
        now = self.get_clock().now()
        extra = {"model": pipeline.classifier.name, "detector": pipeline.detector_name,
                 "clock": clock_description(self.get_clock().ros_time_is_active, now.nanoseconds)}
        publisher.publish(diagnostic_array(
            snap, level, message, f"{self.get_fully_qualified_name()}: emotion recognition",
            self.get_fully_qualified_name(), extra, now.to_msg()))

    def close(self) -> None:
        """Stop the worker and destroy the node, then log the frame counts. The context may already be
        shut down (SIGINT/SIGTERM), so they are logged once the node, and its rosout publisher, are gone."""
        self._slot.close()
        self._worker.join(timeout=5)
        if self.pipeline is not None:
            self.pipeline.close()
        counts = dict(self.stats.totals)
        self.destroy_node()
        rclpy.logging.get_logger("fer_node").info(f"frame counts: {counts}")


class FerNode(EmotionNodeCore, Node):
    """fer_node: loads the models, publishes and subscribes at once; a bad parameter or model file
    ends it at start with the reason."""

    def __init__(self, **kwargs):
        super().__init__("fer_node", **kwargs)
        self._init_core()
        self._load()  # ModelError: fail fast
        self._open_outputs(self.create_publisher)
        self._subscribe()
        self._log_ready()


# The longest an idle executor waits before it looks at the context again (see spin_until_shutdown).
SHUTDOWN_POLL = 0.5  # seconds


def spin_until_shutdown(node, executor, poll: float = SHUTDOWN_POLL) -> None:
    """``rclpy.spin(node, executor)`` with each wait bounded by ``poll`` seconds.

    On SIGINT/SIGTERM rclpy (Kilted) first wakes the executor and then, from another thread, shuts
    the context down. A wait woken between the two finds the context still ok, and ``rclpy.spin``
    waits again with nothing left to wake it. The process has then ignored the signal. In CI a
    fer_lifecycle_node did this and was killed after 10 s. Here it happened in 1 of 10-40 stops
    with both cores busy. A bounded wait sees the shutdown at most ``poll`` s later."""
    executor.add_node(node)
    try:
        while executor.context.ok():
            executor.spin_once(timeout_sec=poll)
    finally:
        executor.remove_node(node)


def run(node_class, args=None) -> None:
    """Start ``node_class``, spin it until SIGINT/SIGTERM and close it (both executables' main).
    One executor thread: the image callback only hands the frame to the worker thread, and a
    parameter set or lifecycle transition that builds a model holds the callbacks for its build
    (measured 6-40 ms). rclpy's MultiThreadedExecutor (9.1, Kilted) resubmits a callback that waits
    in its thread pool, spinning the core (ros2/rclpy#1452): frames answered one at a time ran at 4-6
    per second on it, 66-70 on this one (python -m fer_ros.tools.soak, docs/benchmark.md)."""
    rclpy.init(args=args if args is not None else sys.argv)
    try:
        node = node_class()
    except (FerError, ParameterException) as error:
        rclpy.logging.get_logger("fer_node").fatal(f"cannot start: {error}")
        rclpy.try_shutdown()
        sys.exit(1)
    executor = SingleThreadedExecutor()
    try:
        spin_until_shutdown(node, executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():  # a real failure; otherwise a signal shut the context down mid-wait
            raise
    finally:
        executor.shutdown(timeout_sec=5)
        node.close()
        rclpy.try_shutdown()


def main(args=None) -> None:
    run(FerNode, args)


if __name__ == "__main__":
    main()
