"""Raw and compressed image buffers convert to BGR correctly, zero-copy where possible."""

import array

import cv2
import numpy as np
import pytest

from fer_ros.core.errors import ImageFormatError
from fer_ros.core.image import compressed_to_bgr, raw_to_bgr

RNG = np.random.default_rng(0)
BGR = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)


def padded(pixels: np.ndarray, pad: int) -> tuple[bytes, int]:
    """Rows of ``pixels`` as bytes with ``pad`` junk bytes after each row; returns (data, step)."""
    rows = pixels.reshape(pixels.shape[0], -1)
    junk = np.full((rows.shape[0], pad), 0xAB, np.uint8)
    return np.hstack([rows.view(np.uint8), junk]).tobytes(), rows.view(np.uint8).shape[1] + pad


@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("encoding, make", [
    ("bgr8", lambda bgr: bgr),
    ("rgb8", lambda bgr: bgr[..., ::-1]),
    ("bgra8", lambda bgr: np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])),
    ("rgba8", lambda bgr: np.dstack([bgr[..., ::-1], np.full(bgr.shape[:2], 7, np.uint8)])),
])
def test_colour_encodings_round_trip(encoding, make, pad):
    data, step = padded(np.ascontiguousarray(make(BGR)), pad)
    out = raw_to_bgr(data, encoding, 7, 5, step)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, BGR)


@pytest.mark.parametrize("pad", [0, 3])
def test_mono8_becomes_grey_bgr(pad):
    gray = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    data, step = padded(gray, pad)
    out = raw_to_bgr(data, "mono8", 6, 4, step)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)


def test_bgr8_is_a_view_of_the_message_buffer_even_with_padding():
    data, step = padded(BGR, 4)
    buffer = array.array("B", data)  # what rclpy hands the callback
    out = raw_to_bgr(buffer, "bgr8", 7, 5, step)
    assert np.shares_memory(out, np.frombuffer(buffer, np.uint8))
    np.testing.assert_array_equal(out, BGR)


def test_mono16_is_scaled_to_8_bits():
    depth = np.array([[0, 1000], [2000, 4000]], np.uint16)
    out = raw_to_bgr(depth.tobytes(), "16UC1", 2, 2, 4)
    assert out[1, 1, 0] == 255 and out[0, 0, 0] == 0 and out[0, 1, 0] == 63


def test_yuv422_uyvy_grey_frame():
    uyvy = np.tile(np.array([128, 100, 128, 100], np.uint8), (2, 2))  # U Y V Y, neutral chroma
    out = raw_to_bgr(uyvy.tobytes(), "yuv422", 4, 2, 8)
    assert out.shape == (2, 4, 3) and np.all(np.abs(out.astype(int) - out[0, 0, 0]) <= 1)


@pytest.mark.parametrize("kwargs, cause", [
    (dict(encoding="bayer_rggb8", width=7, height=5, step=7), "unsupported_encoding"),
    (dict(encoding="bgr8", width=0, height=5, step=0), "zero_size"),
    (dict(encoding="bgr8", width=7, height=5, step=20), "bad_step"),
    (dict(encoding="bgr8", width=7, height=6, step=21), "truncated"),
    (dict(encoding="bgr8", width=100_000, height=100_000, step=300_000), "too_large"),
])
def test_bad_buffers_raise_typed_errors(kwargs, cause):
    with pytest.raises(ImageFormatError) as error:
        raw_to_bgr(BGR.tobytes(), **kwargs)
    assert error.value.cause == cause
    assert kwargs["encoding"] in str(error.value) or cause != "unsupported_encoding"


def test_longer_data_than_needed_is_accepted():
    out = raw_to_bgr(BGR.tobytes() + b"\0" * 10, "bgr8", 7, 5, 21)
    np.testing.assert_array_equal(out, BGR)


def test_compressed_png_and_corrupt_jpeg():
    ok, png = cv2.imencode(".png", BGR)
    np.testing.assert_array_equal(compressed_to_bgr(png.tobytes()), BGR)
    ok, jpeg = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ImageFormatError) as error:
        compressed_to_bgr(jpeg.tobytes()[:20])
    assert error.value.cause == "corrupt_compressed"
