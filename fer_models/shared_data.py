"""Where the development data this project is measured on lie: ``../shared`` beside the checkout
(read-only, never committed; see the README). Every default path to it is here, relative to the
repository root, where the commands are run from; each command takes its own flag to point elsewhere."""

from __future__ import annotations

from pathlib import Path

SHARED = Path("..") / "shared"
FER_CSV = SHARED / "data" / "fer2013" / "fer2013.csv.gz"  # FER2013 Training and PublicTest (never PrivateTest)
SCENES = SHARED / "data" / "scenes"  # real photos with hand-labelled faces, the dogs, no person in some
YUNET = SHARED / "models" / "face_detection_yunet_2023mar.onnx"  # OpenCV's YuNet, for its code paths
