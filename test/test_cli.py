"""python -m fer_ros.cli on a photo, a short video and a missing file (subprocesses, no ROS)."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

skimage_data = pytest.importorskip("skimage.data")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fer_ros.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=os.environ.copy())


@pytest.fixture(scope="module")
def astronaut():
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)


def test_photo_prints_each_face_and_writes_the_annotated_image(tmp_path, astronaut):
    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), astronaut)
    done = run_cli(str(photo), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("face_0 happy ") and "box=" in lines[0] and "top3=happy:" in lines[0]
    annotated = cv2.imread(str(tmp_path / "astronaut_annotated.png"))
    assert annotated is not None and annotated.shape == astronaut.shape


def test_missing_input_exits_2_with_a_clear_message(tmp_path):
    done = run_cli(str(tmp_path / "nope.jpg"), cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot open" in done.stderr and "nope.jpg" in done.stderr and "no such file" in done.stderr


def test_video_prints_every_frame_and_writes_the_annotated_video(tmp_path, astronaut):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, astronaut.shape[1::-1])
    assert writer.isOpened()
    for _ in range(5):
        writer.write(astronaut)
    writer.release()
    out = tmp_path / "out.mp4"
    done = run_cli(str(video), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frames = [line for line in done.stdout.splitlines() if line.startswith("frame ")]
    assert len(frames) == 5, done.stdout
    # the astronaut's face is a sure detection: reported from the first frame (confirm_sure_at_once),
    # with one id kept and a smoothed label
    assert all(" face_0 happy " in line for line in frames)
    capture = cv2.VideoCapture(str(out))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 5

    limited = run_cli(str(video), "--out", str(out), "--max-frames", "2", cwd=tmp_path)
    assert limited.returncode == 0 and len(limited.stdout.splitlines()) == 2


def test_cli_does_not_import_rclpy(tmp_path):
    code = "import sys, fer_ros.cli; assert 'rclpy' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=60).returncode == 0
