"""Both sides of ROS4HRI (REP-155) for the REP-155 bench (fer_ros.bench.hri) and tests: a subscriber
that knows only hri_msgs, as libhri's ``HRIListener`` subscribes (:class:`HriListener`), and a stand-in
for a ROS4HRI face detector that publishes the tracked ids and each face's crops
(:class:`DetectorStandIn`), both on a fer_ros.tools.harness.Link.

    listener = HriListener(link, hri_msgs.msg, "/robot")
    listener.tracked                 # [(arrival ns, stamp ns, ids)] of every humans/faces/tracked message
    listener.expressions["face_3"]   # [(arrival ns, Expression)] of that face, in arrival order
    HriListener(link, hri_msgs.msg, "/robot", per_face=ALL_PER_FACE)   # also landmarks and aligned

    detector = DetectorStandIn(link, hri_msgs.msg, "/robot")
    detector.track(["abcde", "fghij"], header)      # humans/faces/tracked (publishers per new id)
    detector.publish_crop("abcde", image_msg)       # humans/faces/abcde/cropped

The listener follows ``<namespace>/humans/faces/tracked`` and, as libhri does, subscribes to each listed
face's ``roi``, ``cropped`` and ``expression`` (``per_face``; :data:`ALL_PER_FACE` adds ``landmarks``
and ``aligned``, every per-face topic fer_node publishes) when the face is first listed and drops those
subscriptions when it leaves the list; every subscription uses the system default QoS, as libhri's.
Callbacks run on the Link's executor thread; read the collected lists after the traffic.
"""

from __future__ import annotations

import threading
import time

from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_system_default
from sensor_msgs.msg import Image

from fer_ros.core.rep155 import is_topic_token
from fer_ros.tools.harness import stamp_ns


ALL_PER_FACE = ("roi", "landmarks", "cropped", "aligned", "expression")


class HriListener:
    """REP-155 faces as libhri sees them; ``per_face`` picks which per-face topics it subscribes
    (default roi, cropped and expression; :data:`ALL_PER_FACE`: every one fer_node publishes)."""

    def __init__(self, link, msgs, namespace: str = "", per_face: tuple[str, ...] = ("roi", "cropped", "expression")):
        self.link, self.msgs = link, msgs
        self.prefix = f"{namespace.rstrip('/')}/humans/faces"
        self.per_face = per_face
        self.lock = threading.Lock()
        self.tracked: list[tuple[int, int, list[str]]] = []
        self.expressions: dict[str, list[tuple[int, object]]] = {}
        self.rois: dict[str, list[tuple[int, object]]] = {}
        self.crops: dict[str, list[tuple[int, object]]] = {}
        self.landmarks: dict[str, list[tuple[int, object]]] = {}
        self.aligned: dict[str, list[tuple[int, object]]] = {}
        self.subscribed: list[str] = []  # every face id ever subscribed to, in order
        self._subscriptions: dict[str, list] = {}
        self._types = {"roi": (msgs.NormalizedRegionOfInterest2D, self.rois), "cropped": (Image, self.crops),
                       "expression": (msgs.Expression, self.expressions),
                       "landmarks": (msgs.FacialLandmarks, self.landmarks), "aligned": (Image, self.aligned)}
        self._tracked_sub = link.node.create_subscription(msgs.IdsList, f"{self.prefix}/tracked", self._on_tracked,
                                                          qos_profile_system_default)

    def _on_tracked(self, msg) -> None:
        now = time.time_ns()
        ids = [face_id for face_id in msg.ids if is_topic_token(face_id)]  # no topics for the others
        with self.lock:
            self.tracked.append((now, stamp_ns(msg.header), ids))
            for face_id in [f for f in self._subscriptions if f not in ids]:
                for subscription in self._subscriptions.pop(face_id):
                    self.link.node.destroy_subscription(subscription)
            for face_id in ids:
                if face_id not in self._subscriptions:
                    self._subscriptions[face_id] = [self._subscribe(face_id, topic) for topic in self.per_face]
                    self.subscribed.append(face_id)

    def _subscribe(self, face_id: str, topic: str):
        msg_type, store = self._types[topic]
        received = store.setdefault(face_id, [])

        def on_message(msg):
            received.append((time.time_ns(), msg))

        return self.link.node.create_subscription(msg_type, f"{self.prefix}/{face_id}/{topic}", on_message,
                                                  qos_profile_system_default)

    def tracked_at(self, stamp: int) -> list[str] | None:
        """The ids of the ``tracked`` message stamped ``stamp`` (ns), or None if none came."""
        with self.lock:
            return next((ids for _, s, ids in self.tracked if s == stamp), None)

    def expression_at(self, face_id: str, stamp: int):
        """(arrival ns, Expression) of ``face_id`` stamped ``stamp`` (ns), or None."""
        with self.lock:
            return next(((t, m) for t, m in self.expressions.get(face_id, ()) if stamp_ns(m.header) == stamp), None)

    @property
    def live_ids(self) -> list[str]:
        """The faces subscribed to now (listed in the last ``tracked`` message)."""
        with self.lock:
            return list(self._subscriptions)

    def close(self) -> None:
        with self.lock:
            for subscriptions in self._subscriptions.values():
                for subscription in subscriptions:
                    self.link.node.destroy_subscription(subscription)
            self._subscriptions.clear()
            self.link.node.destroy_subscription(self._tracked_sub)


class DetectorStandIn:
    """What a ROS4HRI face detector (hri_face_detect) publishes: ``<namespace>/humans/faces/tracked``
    and each face's ``cropped`` (or ``topic``) images, reliable as its publishers are; a face's
    publisher is created when it is first tracked and destroyed when it leaves the list."""

    def __init__(self, link, msgs, namespace: str = "", topic: str = "cropped"):
        self.link, self.msgs, self.topic = link, msgs, topic
        self.prefix = f"{namespace.rstrip('/')}/humans/faces"
        self.qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)  # hri_face_detect's: depth 1
        self.tracked_pub = link.node.create_publisher(msgs.IdsList, f"{self.prefix}/tracked", self.qos)
        self.crop_pubs: dict[str, object] = {}

    def track(self, ids: list[str], header) -> None:
        """Publish ``ids`` as the tracked faces (under ``header``)."""
        for face_id in [f for f in self.crop_pubs if f not in ids]:
            self.link.node.destroy_publisher(self.crop_pubs.pop(face_id))
        for face_id in ids:
            if face_id not in self.crop_pubs:
                self.crop_pubs[face_id] = self.link.node.create_publisher(
                    Image, f"{self.prefix}/{face_id}/{self.topic}", self.qos)
        self.tracked_pub.publish(self.msgs.IdsList(header=header, ids=list(ids)))

    def subscribed(self, ids) -> bool:
        """Whether the recognizer subscribes to the crops of every face in ``ids``."""
        return all(face_id in self.crop_pubs and self.crop_pubs[face_id].get_subscription_count() > 0
                   for face_id in ids)

    def publish_crop(self, face_id: str, image) -> None:
        self.crop_pubs[face_id].publish(image)
