"""Message <-> numpy conversions for the node (the only place that knows both worlds)."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.events import LABELS, FaceEvent
from fer_ros.core.image import compressed_to_bgr, raw_to_bgr
from fer_ros.core.types import FrameResult
from fer_ros.msg import FaceEmotion, FaceEmotionArray, FaceEmotionEvent


def image_to_bgr(msg: Image | CompressedImage) -> np.ndarray:
    """BGR array of an Image (zero-copy for bgr8) or CompressedImage; raises ImageFormatError."""
    if isinstance(msg, CompressedImage):
        return compressed_to_bgr(msg.data)
    return raw_to_bgr(msg.data, msg.encoding, msg.width, msg.height, msg.step, bool(msg.is_bigendian))


def bgr_to_image(bgr: np.ndarray, header) -> Image:
    """A bgr8 Image message of ``bgr`` carrying ``header``."""
    height, width = bgr.shape[:2]
    msg = Image(header=header, height=height, width=width, encoding="bgr8", is_bigendian=0, step=width * 3)
    msg.data = np.ascontiguousarray(bgr).tobytes()
    return msg


def result_to_msg(result: FrameResult, header, model: str, detector: str,
                  processing_time: float) -> FaceEmotionArray:
    """The FaceEmotionArray for one processed frame (header copied from the source image)."""
    faces = []
    for face in result.faces:
        box = face.box.clipped(result.image_width, result.image_height)
        valence, arousal = face.valence_arousal
        quality = face.quality
        faces.append(FaceEmotion(
            id=face.track_id,
            roi=RegionOfInterest(x_offset=box.x, y_offset=box.y, width=box.width, height=box.height,
                                 do_rectify=False),
            detection_confidence=float(face.box.score),
            emotion=face.emotion,
            confidence=face.confidence,
            labels=list(EMOTIONS),
            scores=[float(s) for s in face.smoothed_scores],
            raw_scores=[float(s) for s in face.scores],
            valence=valence,
            arousal=arousal,
            quality=(quality.reason or FaceEmotion.QUALITY_OK) if quality else FaceEmotion.QUALITY_OK,
            sharpness=quality.sharpness if quality else 0.0,
            coasted=face.coasted,
        ))
    return FaceEmotionArray(header=header, image_width=result.image_width, image_height=result.image_height,
                            model=model, detector=detector, processing_time=float(processing_time),
                            faces=faces)


def time_msg(seconds: float) -> Time:
    """builtin_interfaces/Time of ``seconds`` (image time)."""
    nanoseconds = round(seconds * 1e9)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def event_to_msg(event: FaceEvent, frame_id: str) -> FaceEmotionEvent:
    """The FaceEmotionEvent of ``event``, in the camera's ``frame_id``."""
    msg = FaceEmotionEvent(header=Header(stamp=time_msg(event.stamp), frame_id=frame_id), id=event.face_id,
                           kind=event.kind, emotion=event.emotion, previous_emotion=event.previous_emotion,
                           confidence=float(event.confidence), previous_duration=float(event.previous_duration))
    summary = event.summary
    if summary is not None:
        msg.seconds_in_view = float(summary.seconds)
        msg.labels = list(LABELS)
        msg.shares = [float(summary.shares[label]) for label in LABELS]
        msg.mean_valence, msg.mean_arousal = float(summary.mean_valence), float(summary.mean_arousal)
        msg.strongest_emotion = summary.strongest
        msg.strongest_confidence = float(summary.strongest_confidence)
        msg.strongest_stamp = time_msg(summary.strongest_stamp) if math.isfinite(summary.strongest_stamp) else Time()
    return msg
