"""Regression bags (python -m fer_ros.tools.regression): make and bless bags through the real fer_node,
run them again (PASS), and check that a tampered expectation is reported exactly (FAIL, exit code 1)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import SCENES, need
from fer_ros.tools.bags import TYPESTORE, image_message, write_image_bag
from fer_ros.tools.regression.frames import motion_frames
from fer_ros.tools.regression.report import compare


def regression(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fer_ros.tools.regression", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def made(out, *args) -> None:
    done = regression("make", out, *args)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def scene_bag(tmp_path_factory):
    """Astronaut (clearly happy) and two people, two frames each, sqlite3; blessed."""
    scenes = need(SCENES)
    out = tmp_path_factory.mktemp("regression")
    made(out, "--storage", "sqlite3", "--kinds", "scenes", "--scenes", scenes, "--repeats", 2,
         "--photos", "astronaut", "facerec_two_people")
    return out / "scenes_sqlite3"


@pytest.fixture(scope="module")
def motion_bag(tmp_path_factory):
    """Two face tiles moving in opposite directions, 5 frames, mcap; blessed."""
    out = tmp_path_factory.mktemp("regression")
    made(out, "--storage", "mcap", "--kinds", "motion", "--motion-frames", 5)
    return out / "motion_mcap"


def expectations(bag) -> dict:
    return yaml.safe_load((bag.parent / f"{bag.name}.expected.yaml").read_text())


def test_blessed_scene_bag(scene_bag):
    metadata = yaml.safe_load((scene_bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert metadata["storage_identifier"] == "sqlite3" and metadata["message_count"] == 4
    frames = expectations(scene_bag)["frames"]
    assert [f["source"] for f in frames] == ["astronaut"] * 2 + ["facerec_two_people"] * 2
    assert [len(f["faces"]) for f in frames] == [1, 1, 2, 2]
    assert [face["label"] for face in frames[0]["faces"] + frames[1]["faces"]] == ["happy", "happy"]
    assert not any("label" in face for f in frames[2:] for face in f["faces"])  # not vouched for: no label
    assert frames[0]["faces"][0]["track"] == frames[1]["faces"][0]["track"]
    assert len({face["track"] for f in frames for face in f["faces"]}) == 3


@pytest.fixture(scope="module")
def scene_run(scene_bag):
    """``run`` of the scene bag against its blessing, saving what the node published."""
    observed = scene_bag.parent / "observed.yaml"
    return regression("run", scene_bag, "--save-observed", observed), observed


def test_scene_bag_passes(scene_run):
    done, observed = scene_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == \
        "PASS: 4 frames, 6 faces, 3 tracks, 2 labels as expected (box IoU >= 0.5)", done.stdout
    assert [len(f["faces"]) for f in yaml.safe_load(observed.read_text())["frames"]] == [1, 1, 2, 2]


def test_motion_bag_keeps_ids_and_passes(motion_bag):
    frames = expectations(motion_bag)["frames"]
    assert yaml.safe_load((motion_bag / "metadata.yaml").read_text())[
        "rosbag2_bagfile_information"]["storage_identifier"] == "mcap"
    # both faces from the second frame on (the first frame's quick look may find one, the full
    # detection beside it brings the other)
    assert frames[0]["faces"] and all(len(f["faces"]) == 2 for f in frames[1:]) and len(frames) == 5
    assert {face["track"] for f in frames for face in f["faces"]} == {"t1", "t2"}  # two faces, one id each
    xs = sorted((face["box"][0] for f in frames for face in f["faces"] if face["track"] == "t1"))
    assert xs[-1] - xs[0] >= 60  # it really moved (80 px; a box may lag a pixel or two behind)
    done = regression("run", motion_bag)
    assert done.returncode == 0, done.stdout + done.stderr
    faces = sum(len(f["faces"]) for f in frames)  # 9 or 10
    assert done.stdout.rstrip().splitlines()[-1].startswith(f"PASS: 5 frames, {faces} faces, 2 tracks, "), done.stdout


def test_tampered_label_fails_through_the_node(scene_bag, tmp_path):
    wanted = expectations(scene_bag)
    wanted["frames"][1]["faces"][0]["label"] = "sad"
    tampered = tmp_path / "tampered.yaml"
    tampered.write_text(yaml.safe_dump(wanted))
    done = regression("run", scene_bag, "--expected", tampered)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert lines[-1] == "FAIL: 1 difference(s) in 4 frames: 1 label mismatch", done.stdout
    assert lines[-2].startswith("  frame 1 (1700000000.200000000, astronaut): label mismatch: expected sad, got happy")


def tamper_move_box(frames):
    x, y, w, h = frames[0]["faces"][0]["box"]
    frames[0]["faces"][0]["box"] = [x + int(0.4 * w), y, w, h]  # IoU about 0.43


def tamper_label(frames):
    frames[0]["faces"][0]["label"] = "angry"


def tamper_identity(frames):
    # The astronaut (frames 0-1) and the left person of the next photo (frames 2-3) are different
    # faces in other places: the node gives them different ids, the tampered file demands one.
    for frame in frames[:2]:
        frame["faces"][0]["track"] = frames[2]["faces"][0]["track"]


def tamper_drop_face(frames):
    del frames[3]["faces"][1]


@pytest.mark.parametrize("tamper, kind, text", [
    (tamper_move_box, "box", "frame 0 (1700000000.000000000, astronaut): box IoU 0.4"),
    (tamper_label, "label", "frame 0 (1700000000.000000000, astronaut): label mismatch: expected angry, got happy"),
    (tamper_identity, "switch", "frame 2 (1700000000.400000000, facerec_two_people): id switch: track t"),
    (tamper_drop_face, "extra", "frame 3 (1700000000.600000000, facerec_two_people): extra face: "),
])
def test_each_tampered_expectation_is_the_only_difference(scene_bag, scene_run, tmp_path, tamper, kind, text):
    done, observed = scene_run
    assert done.returncode == 0, done.stdout + done.stderr
    wanted = expectations(scene_bag)
    assert compare(wanted, yaml.safe_load(observed.read_text())["frames"]).passed
    tamper(wanted["frames"])
    report = compare(wanted, yaml.safe_load(observed.read_text())["frames"])
    assert [k for k, _ in report.differences] == [kind], report.differences
    assert report.differences[0][1].startswith(text), report.differences


def test_all_tampers_at_once_from_the_command_line(scene_bag, scene_run, tmp_path):
    done, observed = scene_run
    assert done.returncode == 0, done.stdout + done.stderr
    wanted = expectations(scene_bag)
    for tamper in (tamper_move_box, tamper_label, tamper_identity, tamper_drop_face):
        tamper(wanted["frames"])
    tampered = tmp_path / "tampered.yaml"
    tampered.write_text(yaml.safe_dump(wanted))
    done = regression("run", scene_bag, "--expected", tampered, "--observed", observed)  # no node: saved output
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == ("FAIL: 4 difference(s) in 4 frames: 1 extra face, "
                                                     "1 box below IoU 0.5, 1 id switch, 1 label mismatch"), done.stdout


def test_missing_frame_and_iou_flag():
    box = [100, 100, 50, 50]
    wanted = {"frames": [{"stamp": "1.000000000", "faces": [{"box": box, "track": "t1"}]},
                         {"stamp": "2.000000000", "faces": [{"box": box, "track": "t1"}]}]}
    seen = [{"stamp": "1.000000000", "faces": [{"id": "face_0", "box": [110, 100, 50, 50], "label": "happy"}]}]
    report = compare(wanted, seen, iou_tolerance=0.5)
    assert [k for k, _ in report.differences] == ["frame"]
    assert report.summary() == "FAIL: 1 difference(s) in 2 frames: 1 frame missing"
    assert [k for k, _ in compare(wanted, seen, iou_tolerance=0.9).differences] == ["box", "frame"]


def test_a_bag_with_two_image_topics_needs_topic(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    bag = tmp_path / "two_topics"
    frames = motion_frames(2)
    with Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        for topic in ("/left/image_raw", "/right/image_raw"):
            connection = writer.add_connection(topic, "sensor_msgs/msg/Image", typestore=TYPESTORE)
            for i, frame in enumerate(frames):
                stamp = 10**9 * (i + 1)
                writer.write(connection, stamp, TYPESTORE.serialize_cdr(image_message(frame, stamp),
                                                                        "sensor_msgs/msg/Image"))
    done = regression("bless", bag)
    assert done.returncode == 2 and "pick one with --topic" in done.stderr, done.stderr
    done = regression("bless", bag, "--topic", "/nope")
    assert done.returncode == 2 and "no image topic /nope" in done.stderr, done.stderr
    assert write_image_bag(tmp_path / "plain", frames) == 2
    done = regression("run", tmp_path / "plain")
    assert done.returncode == 2 and "bless the bag first" in done.stderr, done.stderr
