"""Labels that hold still when the face does: the packaged photos held before a camera for 10 s,
with sensor noise and small motion, through the pipeline at its defaults."""

import numpy as np

from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

FPS = 30.0


def test_a_still_face_with_camera_noise_and_small_motion_keeps_its_label_for_10_s(two_faces):
    rng = np.random.default_rng(7)
    # the defaults, with the scheduled detections on the frame so that the run is the same every time
    pipeline = EmotionPipeline(PipelineConfig(detection_thread=False))
    labels: dict[str, list[str]] = {}
    for index in range(int(10 * FPS)):
        dx, dy = rng.integers(-2, 3, size=2)  # the camera shakes a little
        frame = np.roll(two_faces, (int(dy), int(dx)), axis=(0, 1)).astype(np.float32)
        frame = np.clip(frame + rng.normal(0, 3.0, frame.shape), 0, 255).astype(np.uint8)  # sensor noise
        for face in pipeline.process(frame, 50.0 + index / FPS).faces:
            labels.setdefault(face.track_id, []).append(face.emotion)
    assert len(labels) == 2, labels.keys()  # both faces, one id each, all along
    for track_id, seen in labels.items():
        assert len(seen) >= 10 * FPS - 2, (track_id, len(seen))  # reported on every frame once confirmed
        changes = sum(a != b for a, b in zip(seen, seen[1:]))
        assert changes == 0, (track_id, changes, sorted(set(seen)))
