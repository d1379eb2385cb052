"""Face events (fer_ros.core.events): appeared, changed exactly when /emotion's label changes, left once
unseen for max_age (also without frames), with a summary; and the CLI's --events."""

from __future__ import annotations

import numpy as np
import pytest

from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.events import APPEARED, CHANGED, LABELS, LEFT, FaceEvents
from fer_ros.core.smoothing import UNCERTAIN, SmoothedEmotion
from fer_ros.core.types import Box, FaceEmotion


def face(face_id: str, label: str, confidence: float = 0.8) -> FaceEmotion:
    scores = np.full(7, (1 - confidence) / 6, np.float32)
    scores[EMOTIONS.index(label) if label in EMOTIONS else 6] = confidence
    return FaceEmotion(Box(0, 0, 50, 50), scores, face_id, SmoothedEmotion(scores, label, confidence))


def test_appeared_changed_left_follow_the_labels_face_by_face():
    labels = ["neutral"] * 5 + ["happy"] * 3 + [UNCERTAIN] * 2 + ["happy"] * 4  # 14 frames at 10 Hz
    events = FaceEvents(max_age=0.5)
    seen = []
    for i, label in enumerate(labels):
        seen += events.update([face("a", label)] + ([face("b", "sad")] if i < 3 else []), 10 + i / 10)
    seen += events.update([], 10 + 14 / 10 + 0.6)  # a's last frame was 1.3: gone after 0.5 s
    a = [e for e in seen if e.face_id == "a"]
    assert [e.kind for e in a] == [APPEARED, CHANGED, CHANGED, CHANGED, LEFT]
    changes = [(labels[i - 1], labels[i]) for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
    assert [(e.previous_emotion, e.emotion) for e in a if e.kind == CHANGED] == changes
    assert [round(e.previous_duration, 3) for e in a if e.kind == CHANGED] == [0.5, 0.3, 0.2]
    assert a[1].stamp == pytest.approx(10.5)
    left = a[-1]
    assert left.stamp == pytest.approx(10 + 1.3 + 0.5) and left.emotion == "happy"
    assert left.previous_duration == pytest.approx(0.3)  # happy from frame 10 (1.0 s) to 13 (1.3 s)
    summary = left.summary
    assert summary.seconds == pytest.approx(1.3)
    assert sum(summary.shares.values()) == pytest.approx(1) and set(summary.shares) == set(LABELS)
    assert summary.shares["neutral"] == pytest.approx(0.5 / 1.3) and summary.shares[UNCERTAIN] == pytest.approx(0.2 / 1.3)
    assert summary.strongest == "neutral" and summary.strongest_stamp == pytest.approx(10.0)  # the first 0.8
    b = [e.kind for e in seen if e.face_id == "b"]
    assert b == [APPEARED, LEFT]  # seen at 10.0-10.2: left at the first frame more than 0.5 s later
    assert [e for e in seen if e.face_id == "b"][1].stamp == pytest.approx(10.7)
    assert events.ids == []


def test_a_face_whose_frames_stop_leaves_at_expire_and_once_only():
    events = FaceEvents(max_age=1.0)
    events.update([face("a", "happy", 0.9)], 5.0)
    assert events.expire(5.9) == []
    (left,) = events.expire(6.2)  # no frame came since 5.0: image time is the caller's estimate
    assert left.kind == LEFT and left.stamp == pytest.approx(6.0)
    summary = left.summary  # one frame in view: all of it under its one emotion
    assert summary.seconds == 0 and summary.shares["happy"] == 1 and summary.strongest_confidence == pytest.approx(0.9)
    assert events.expire(10.0) == [] and events.update([], 10.0) == []


def test_stamps_jumping_back_end_every_face_before_the_new_ones_appear():
    events = FaceEvents(max_age=1.0)
    events.update([face("a", "sad")], 100.0)
    kinds = [(e.face_id, e.kind) for e in events.update([face("b", "sad")], 50.0)]
    assert kinds == [("a", LEFT), ("b", APPEARED)]


# --- through the real node, with the README's example behaviour beside it -----------------------------

def swapping_faces(frames: int, every: int = 20) -> list[np.ndarray]:
    """A face in one place that turns from the astronaut's (happy) into Grace Hopper's and back every
    ``every`` frames: one track whose emotion changes."""
    import cv2

    from fer_ros.tools.photos import face_tiles

    tiles = [cv2.resize(tile, (200, 200)) for tile in face_tiles()]
    out = []
    for i in range(frames):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[140:340, 220:420] = tiles[(i // every) % 2]
        out.append(frame)
    return out


def test_the_node_publishes_one_event_per_change_and_a_face_leaves_when_the_camera_stops(tmp_path):
    """emotion/events against /emotion face by face, in order: one appeared, a changed at exactly each
    label change, one left, sent after track_max_age although no frame comes any more; the example
    behaviour (examples/greeter.py) greets the smiling face and logs its summary."""
    import os
    import subprocess
    import sys
    import uuid

    pytest.importorskip("skimage.data")
    from fer_ros.msg import FaceEmotionArray, FaceEmotionEvent
    from fer_ros.tools.harness import Answers, stamp_ns
    from ros_helpers import Graph, NodeProcess, image_msg, wait_for

    namespace = "/events_" + uuid.uuid4().hex[:6]
    node = NodeProcess({"input_reliability": "reliable", "detection_thread": False, "track_max_age": 0.5},
                       namespace=namespace)
    graph = Graph("fer_events_test")
    greeter = None
    try:
        node.wait_ready(60)
        answers = graph.listen(FaceEmotionArray, f"{namespace}/emotion", Answers())
        events = graph.listen(FaceEmotionEvent, f"{namespace}/emotion/events")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        greeter = subprocess.Popen([sys.executable, os.path.join(root, "examples", "greeter.py"), "--ros-args",
                                    "-r", f"/emotion/events:={namespace}/emotion/events"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        camera = graph.image_publisher(f"{namespace}/image", qos=10)  # reliable, as the node's input
        graph.wait_for_node(node, camera, f"{namespace}/emotion")
        assert wait_for(lambda: graph.node.count_subscribers(f"{namespace}/emotion/events") >= 2, 20)  # the greeter
        for i, frame in enumerate(swapping_faces(60)):  # 10 Hz in image time, each answered before the next
            msg = image_msg(frame, 500 + i // 10, "events_camera", (i % 10) * 100_000_000)
            camera.publish(msg)
            assert answers.wait_for(stamp_ns(msg.header), 20) is not None, node.tail()
        # the camera stops: the face leaves track_max_age later, with nothing but the clock to tell
        assert wait_for(lambda: any(e.kind == FaceEmotionEvent.LEFT for e in events), 10), node.tail()
        labels = {}
        for msg in answers.messages:
            for f in msg.faces:
                labels.setdefault(f.id, []).append(f.emotion)
        assert len(labels) == 1, labels
        (face_id, seq), = labels.items()
        kinds = [e.kind for e in events if e.id == face_id]
        changes = [(a, b) for a, b in zip(seq, seq[1:]) if a != b]
        assert changes, seq  # the faces swap: its emotion did change
        assert kinds == ["appeared"] + ["changed"] * len(changes) + ["left"], kinds
        assert [(e.previous_emotion, e.emotion) for e in events if e.kind == "changed"] == changes
        assert events[0].emotion == seq[0]
        left = events[-1]
        assert abs(sum(left.shares) - 1) < 1e-4 and list(left.labels)[-1] == "uncertain"
        assert left.seconds_in_view == pytest.approx(5.9, abs=0.11)  # from its first frame to its last
        greeter.terminate()
        out = greeter.communicate(timeout=10)[0]
        if "happy" in seq:
            assert f"hello {face_id}, nice smile!" in out, out
        assert f"{face_id} left after" in out, out
    finally:
        if greeter is not None and greeter.poll() is None:
            greeter.kill()
        graph.close()
        assert node.stop() == 0, node.output


def test_the_cli_prints_events_of_a_video(tmp_path):
    """python -m fer_ros.cli clip --events: one line per event, the face leaving when the video ends."""
    import os
    import subprocess
    import sys

    import cv2

    pytest.importorskip("skimage.data")
    video = tmp_path / "clip.avi"
    frames = swapping_faces(40, every=20)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()
    done = subprocess.run([sys.executable, "-m", "fer_ros.cli", str(video), "--events", "--out",
                           str(tmp_path / "out.mp4")], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("event t=") for line in lines), done.stdout
    assert " face_0 appeared " in lines[0] and " face_0 left " in lines[-1] and "s in view:" in lines[-1]
    assert sum(" appeared " in line for line in lines) == sum(" left " in line for line in lines) == 1
