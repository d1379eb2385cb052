"""Where downloaded third-party model files live, and which of them are verified.

fer_ros never downloads anything when it runs: ``python -m fer_ros.tools.fetch_models`` (or
``ros2 run fer_ros fetch_models``) fetches YuNet once into the cache folder, and ``detector: auto``
uses it when its SHA-256 matches. The cache folder is ``$FER_ROS_HOME``, default ``~/.cache/fer_ros``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
YUNET_URL = ("https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
             + YUNET_FILE)
FETCH_HINT = "run `ros2 run fer_ros fetch_models` (or `python -m fer_ros.tools.fetch_models`) once"


def cache_dir() -> Path:
    """The folder that holds fetched model files: ``$FER_ROS_HOME`` or ``~/.cache/fer_ros``."""
    home = os.environ.get("FER_ROS_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "fer_ros"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_yunet() -> Path | None:
    """The cached YuNet file when it exists and its SHA-256 is the published one, else None."""
    path = cache_dir() / YUNET_FILE
    try:
        if path.is_file() and sha256_file(path) == YUNET_SHA256:
            return path
    except OSError:  # unreadable (e.g. fetched by another user): not usable, so not verified
        pass
    return None
