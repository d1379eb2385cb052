"""Draw face boxes, labels and scores on a copy of the image (for rviz and the demo)."""

from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.types import FaceEmotion

# BGR colour per emotion, EMOTIONS order.
COLORS = {
    "angry": (40, 40, 230), "disgust": (40, 140, 40), "fear": (160, 40, 160), "happy": (40, 200, 240),
    "sad": (200, 120, 40), "surprise": (240, 200, 40), "neutral": (200, 200, 200),
    "uncertain": (128, 128, 128),
}


def annotate(bgr: np.ndarray, faces: list[FaceEmotion], blur_faces: bool = False) -> np.ndarray:
    """Return a BGR copy of ``bgr`` with each face's box, dominant emotion and probability;
    with ``blur_faces`` the face regions are blurred beyond recognition first."""
    canvas = np.ascontiguousarray(bgr).copy()
    if blur_faces:
        for face in faces:
            box = face.box.clipped(canvas.shape[1], canvas.shape[0])
            if box.area:
                region = canvas[box.y:box.y + box.height, box.x:box.x + box.width]
                kernel = max(3, (max(box.width, box.height) // 3) | 1)
                region[:] = cv2.GaussianBlur(region, (kernel, kernel), 0)
    scale = max(0.4, min(canvas.shape[:2]) / 800)
    thickness = max(1, int(round(scale * 2)))
    for face in faces:
        box, color = face.box, COLORS[face.emotion]
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.width, box.y + box.height), color, thickness)
        text = f"{face.emotion} {face.confidence:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, box.y - th - base - 4)
        cv2.rectangle(canvas, (box.x, top), (box.x + tw + 4, top + th + base + 4), color, cv2.FILLED)
        cv2.putText(canvas, text, (box.x + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return canvas
