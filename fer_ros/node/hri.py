"""fer_node's ROS4HRI (REP-155) output: the faces as libhri and pyhri's ``HRIListener`` read them.

With ``hri_output: true`` fer_node publishes, besides /emotion, for every processed frame:

- ``humans/faces/tracked`` (hri_msgs/IdsList): the ids of the confirmed faces present;
- per face, under ``humans/faces/<id>/``, each with the image's header, on every frame the face is in:
  ``roi`` (hri_msgs/NormalizedRegionOfInterest2D, the box in 0..1 of the image, ``c`` the detection
  confidence), ``landmarks`` (hri_msgs/FacialLandmarks, while someone subscribes: YuNet's eyes, nose
  tip and mouth corners with the detection confidence as ``c``, the other 65 points zero; where a
  face coasts, its last found ones moved with its box, as ``roi``; nothing with Haar, which finds
  none), ``expression`` (hri_msgs/Expression) and, only while someone
  subscribes and on the frames the face is found in (not where it coasts, see ``search_every``),
  two sensor_msgs/Image (bgr8) of ``hri_crop_size`` pixels square: ``cropped`` (the box of ``roi``
  fitted in, centred on black) and ``aligned`` (the classifier's FER2013 framing, turned upright).
  The geometry is fer_ros.core.rep155's.

Topic names are relative: in the root namespace (the launch file's default) they are REP-155's
``/humans/faces/...``. ``<id>`` is the face's id in /emotion (``face_12``). The five per-face
publishers are created when a face is first confirmed and destroyed when it expires (absent from the
results for longer than ``track_max_age``), so none outlive their face; the mapping of emotions to
Expression constants and the rule for ``uncertain`` and blurred faces are fer_ros.core.rep155's.
QoS is reliable and volatile throughout, which libhri's subscriptions (system default QoS) match.

hri_msgs is an optional dependency, imported only here and only when ``hri_output`` is on
(:func:`hri_messages`).
"""

from __future__ import annotations

import os
import time

from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from fer_ros.core.errors import ConfigError
from fer_ros.core.rep155 import (FacePresence, aligned_face, cropped_face, expressions_of, normalized_landmarks,
                                 normalized_roi)
from fer_ros.core.types import FrameResult
from fer_ros.node.conversions import bgr_to_image

NAMESPACE = "humans/faces"
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)  # volatile, keep last
CROP_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)  # images: the newest is enough


def hri_messages(needed_by: str = "hri_output"):
    """The ``hri_msgs.msg`` module; ConfigError in one line saying how to install it when it is
    missing (``needed_by`` names what asked for it)."""
    try:
        from hri_msgs import msg
    except ImportError as error:
        distro = os.environ.get("ROS_DISTRO") or "<distro>"
        raise ConfigError(
            f"{needed_by} needs ROS4HRI's hri_msgs, which is not installed ({error}): install it with "
            f"`apt install ros-{distro}-hri-msgs` (or `FER_ROS_HRI=1 rosdep install --from-paths src "
            "--ignore-src`) and source the workspace again") from None
    return msg


def stamp_seconds(header) -> float:
    """The header's stamp in seconds, or this process's monotonic time for an unstamped image."""
    return header.stamp.sec + header.stamp.nanosec * 1e-9 or time.monotonic()


def landmarks_of(msg, header, box, width: int, height: int):
    """``msg`` (a FacialLandmarks, all zero but for the points this fills) with the landmarks of ``box``
    in a ``width`` x ``height`` image: each at its index with the detection confidence as ``c``."""
    msg.header, msg.width, msg.height = header, width, height
    c = float(box.score)
    for index, x, y in normalized_landmarks(box, width, height):
        point = msg.landmarks[index]
        point.x, point.y, point.c = x, y, c
    return msg


class _FacePublishers:
    """The per-face publishers of one face id (``all``: roi, landmarks, cropped, aligned, expression)."""

    def __init__(self, node, msgs, face_id: str):
        prefix = f"{NAMESPACE}/{face_id}"
        self.roi = node.create_publisher(msgs.NormalizedRegionOfInterest2D, f"{prefix}/roi", RELIABLE)
        self.landmarks = node.create_publisher(msgs.FacialLandmarks, f"{prefix}/landmarks", RELIABLE)
        self.cropped = node.create_publisher(Image, f"{prefix}/cropped", CROP_QOS)
        self.aligned = node.create_publisher(Image, f"{prefix}/aligned", CROP_QOS)
        self.expression = node.create_publisher(msgs.Expression, f"{prefix}/expression", RELIABLE)
        # the face's FacialLandmarks, filled in again for each frame (publish converts it at once): its 65
        # points without a value stay zero, and building 70 points anew would cost more than sending them
        self.landmarks_msg = msgs.FacialLandmarks()

    @property
    def all(self) -> tuple:
        return self.roi, self.landmarks, self.cropped, self.aligned, self.expression

    def destroy(self, node) -> None:
        for publisher in self.all:
            node.destroy_publisher(publisher)


class HriOutput:
    """REP-155 publishing for one node: created with the node's outputs, ``publish`` once per
    processed frame (on the worker thread), ``clear`` when processing stops, ``close`` with the
    outputs. Reads ``node.values`` (``track_max_age``, ``hri_crop_size``) on every frame, so their
    run-time changes apply at the next one."""

    def __init__(self, node):
        self.node = node
        self.msgs = hri_messages()
        self.tracked_pub = node.create_publisher(self.msgs.IdsList, f"{NAMESPACE}/tracked", RELIABLE)
        self.presence = FacePresence(node.values["track_max_age"])
        self.faces: dict[str, _FacePublishers] = {}

    def publish(self, header, bgr, result: FrameResult) -> None:
        """The REP-155 messages of one processed frame (``header`` is the image's)."""
        values = self.node.values
        self.presence.max_age = values["track_max_age"]
        appeared, expired = self.presence.update([face.track_id for face in result.faces], stamp_seconds(header))
        for face_id in expired:
            self.faces.pop(face_id).destroy(self.node)
        for face_id in appeared:
            self.faces[face_id] = _FacePublishers(self.node, self.msgs, face_id)
        size, width, height = values["hri_crop_size"], result.image_width, result.image_height
        for face, expression in zip(result.faces, expressions_of(result.faces)):
            publishers, box = self.faces[face.track_id], face.box
            xmin, ymin, xmax, ymax = normalized_roi(box, width, height)
            publishers.roi.publish(self.msgs.NormalizedRegionOfInterest2D(
                header=header, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax, c=float(box.score)))
            if box.landmarks and publishers.landmarks.get_subscription_count() > 0:
                publishers.landmarks.publish(landmarks_of(publishers.landmarks_msg, header, box, width, height))
            if not face.coasted:  # a crop shows the face as found, never where its motion puts it
                if publishers.cropped.get_subscription_count() > 0:
                    crop = cropped_face(bgr, box, size)
                    if crop is not None:
                        publishers.cropped.publish(bgr_to_image(crop, header))
                if face.square is not None and publishers.aligned.get_subscription_count() > 0:
                    publishers.aligned.publish(bgr_to_image(aligned_face(bgr, face.square, size), header))
            publishers.expression.publish(self.msgs.Expression(
                header=header, expression=expression.expression, valence=expression.valence,
                arousal=expression.arousal, confidence=expression.confidence))
        self.tracked_pub.publish(self.msgs.IdsList(header=header, ids=self.presence.ids))

    def clear(self) -> None:
        """Every face ends (processing stopped): an empty ``tracked`` list, per-face publishers destroyed."""
        for face_id in self.presence.clear():
            self.faces.pop(face_id).destroy(self.node)
        self.tracked_pub.publish(self.msgs.IdsList(header=Header(stamp=self.node.get_clock().now().to_msg())))

    def close(self) -> None:
        """``clear``, then destroy the ``tracked`` publisher."""
        self.clear()
        self.node.destroy_publisher(self.tracked_pub)

    def listeners(self) -> int:
        """Subscriptions to ``tracked`` and to every present face's topics."""
        publishers = [self.tracked_pub] + [p for face in self.faces.values() for p in face.all]
        return sum(p.get_subscription_count() for p in publishers)

    @property
    def publisher_count(self) -> int:
        """Per-face publishers alive (those of every face present)."""
        return sum(len(face.all) for face in self.faces.values())
