"""Convert raw camera buffers (as carried by sensor_msgs/Image and CompressedImage) to BGR arrays,
and fit photos into camera-sized frames (``letterbox``).

ROS-free: takes the message fields, not the message. bgr8 frames, padded or not, come back as a
zero-copy view of the buffer; other encodings are converted once.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.errors import ImageFormatError

# encoding -> (channels, numpy dtype, OpenCV conversion to BGR or None for none)
ENCODINGS = {
    "bgr8": (3, np.uint8, None),
    "rgb8": (3, np.uint8, cv2.COLOR_RGB2BGR),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC3": (3, np.uint8, None),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2BGR),
    "mono16": (1, np.uint16, cv2.COLOR_GRAY2BGR),
    "16UC1": (1, np.uint16, cv2.COLOR_GRAY2BGR),
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY),  # UYVY byte order (ROS "yuv422")
    "uyvy": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2BGR_YUY2),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2BGR_YUY2),
}

MAX_PIXELS = 8192 * 8192  # larger frames are rejected instead of exhausting memory


def raw_to_bgr(data, encoding: str, width: int, height: int, step: int,
               is_bigendian: bool = False) -> np.ndarray:
    """Return an ``(height, width, 3) uint8`` BGR array for a raw image buffer.

    ``data`` is any bytes-like object (``bytes``, ``array.array``, ``memoryview``). Raises
    :class:`ImageFormatError` for unsupported encodings, impossible sizes or truncated data.
    """
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(ENCODINGS)}. "
            "Convert the stream upstream (e.g. image_proc) or publish one of these.", "unsupported_encoding")
    channels, dtype, conversion = ENCODINGS[encoding]
    if width <= 0 or height <= 0:
        raise ImageFormatError(f"image has zero size ({width}x{height})", "zero_size")
    if width * height > MAX_PIXELS:
        raise ImageFormatError(f"image of {width}x{height} exceeds the {MAX_PIXELS}-pixel limit", "too_large")
    if channels == 2 and width % 2:
        raise ImageFormatError(
            f"{encoding} image has odd width {width}; 4:2:2 packs two pixels into 4 bytes, so the width "
            "must be even", "odd_width")
    row_bytes = width * channels * np.dtype(dtype).itemsize
    if step < row_bytes:
        raise ImageFormatError(
            f"step {step} is smaller than width*bytes_per_pixel = {row_bytes} for {encoding}", "bad_step")
    buffer = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    if buffer.size < step * (height - 1) + row_bytes:
        raise ImageFormatError(
            f"data holds {buffer.size} bytes, a {width}x{height} {encoding} image with step {step} "
            f"needs {step * height}", "truncated")
    # Strided view over the padded rows: no copy.
    rows = np.lib.stride_tricks.as_strided(buffer, shape=(height, row_bytes), strides=(step, 1))
    if dtype == np.uint16:
        pixels = rows.view(">u2" if is_bigendian else "<u2").reshape(height, width)
        # Scale to 8 bits by the frame's own range, so depth-like 16-bit images stay visible.
        top = max(int(pixels.max()), 1)
        gray = (pixels.astype(np.float32) * (255.0 / top)).astype(np.uint8)
        return cv2.cvtColor(gray, conversion)
    image = rows.reshape(height, width, channels) if channels > 1 else rows.reshape(height, width)
    if conversion is None:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image) if channels == 2 else image, conversion)


def compressed_to_bgr(data) -> np.ndarray:
    """Decode a JPEG/PNG buffer (sensor_msgs/CompressedImage ``data``) to BGR."""
    buffer = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    if buffer.size == 0:
        raise ImageFormatError("compressed image has no data", "corrupt_compressed")
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageFormatError(
            f"compressed image of {buffer.size} bytes could not be decoded (corrupt or truncated)",
            "corrupt_compressed")
    return image


FRAME_SIZE = (640, 480)  # width, height: the frames the demo, tests and tools make


def letterbox(bgr: np.ndarray, size=FRAME_SIZE) -> np.ndarray:
    """Fit ``bgr`` into a ``size`` canvas keeping its aspect ratio (grey borders)."""
    width, height = size
    scale = min(width / bgr.shape[1], height / bgr.shape[0])
    resized = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 64, np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return canvas
