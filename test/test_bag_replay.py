"""A standard rosbag2 replayed into fer_node by a separate player process: one /emotion per frame."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from fer_ros.core.image import letterbox
from fer_ros.msg import FaceEmotionArray
from fer_ros.tools.bags import read_raw, write_image_bag
from fer_ros.tools.photos import demo_photos
from ros_helpers import Graph, NodeProcess, wait_for

# Photos that ship with scikit-image and matplotlib: two people, one, a cat, one
PHOTOS = ["astronaut_and_hopper", "grace_hopper", "cat", "astronaut"]


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_replayed_bag_yields_one_emotion_message_per_frame(tmp_path, storage):
    photos = demo_photos()
    frames = [letterbox(photos[name]) for name in PHOTOS for _ in range(2)]
    bag = tmp_path / f"photos_{storage}"
    assert write_image_bag(bag, frames, "/camera/image_raw", rate_hz=1.0, storage=storage) == len(frames)
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["message_count"] == len(frames) and metadata["storage_identifier"] == storage
    stamps = [(s // 10**9, s % 10**9) for _, _, s, _ in read_raw(bag)]

    graph = Graph()
    node = NodeProcess({"publish_annotated": False}, remaps={"image": "/replay/image", "emotion": "/replay/emotion"})
    try:
        node.wait_ready()
        emotions = graph.listen(FaceEmotionArray, "/replay/emotion")
        assert wait_for(lambda: graph.node.count_publishers("/replay/emotion") > 0)
        player = subprocess.run(
            [sys.executable, "-m", "fer_ros.tools.player", str(bag), "--remap", "/camera/image_raw:=/replay/image",
             "--wait", "20"], capture_output=True, text=True, timeout=120)
        assert player.returncode == 0, player.stderr
        assert f"played {len(frames)} messages" in player.stdout
        wait_for(lambda: len(emotions) >= len(frames), 20)
        wait_for(lambda: False, 1.0)  # nothing more may arrive
    finally:
        assert node.stop() == 0, node.output
        graph.close()
    assert len(emotions) == len(frames), node.output
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in emotions] == stamps
    assert all(m.header.frame_id == "camera" for m in emotions)
    faces = [len(m.faces) for m in emotions]
    # two people: the first frame's quick look finds the larger face, the full detection beside it the
    # other, which joins on the next frame (the same photo a second later)
    assert faces[0] >= 1 and faces[1] == 2, faces
    assert faces[4] == faces[5] == 0, node.output  # the cat: no human face (Haar's false faces on it: 0, bench)
    assert np.all(np.array(faces[6:]) == 1)  # one face
