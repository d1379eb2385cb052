"""The CLI's pipeline flags come from the schema; a photo reports every face (confirm_frames 1)."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fer_ros import cli
from fer_ros.core import schema
from fer_ros.core.config import PipelineConfig


def test_every_pipeline_parameter_is_a_flag_and_old_flags_still_work():
    args = cli.parse_args(["x.jpg", "--detector", "haar", "--yunet-model", "y.onnx", "--model", "fast",
                           "--hysteresis", "0.2", "--max-faces", "3", "--detection-max-side", "0"])
    config = cli.pipeline_config(args, photo=False)
    assert (config.detector, config.yunet_model, config.model) == ("haar", "y.onnx", "fast")
    assert (config.hysteresis, config.max_faces, config.detection_max_side) == (0.2, 3, 0)
    assert type(config.max_faces) is int and type(config.hysteresis) is float
    for p in schema.PARAMETERS:
        if p.pipeline:
            assert getattr(cli.parse_args(["x.jpg"]), p.name) is None  # not given: the schema default
    assert cli.pipeline_config(cli.parse_args(["x.jpg"]), photo=False) == PipelineConfig()


def test_flags_are_exactly_the_pipeline_parameters(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    text = capsys.readouterr().out
    for p in schema.PARAMETERS:
        assert (cli.flag(p.name) in text) == p.pipeline, p.name


@pytest.mark.parametrize("text, value", [("false", False), ("False", False), ("0", False), ("no", False),
                                         ("true", True), ("1", True), ("yes", True)])
def test_every_boolean_flag_reads_true_and_false(text, value):
    """argparse's type=bool read '--detection-thread false' as true (a non-empty string)."""
    booleans = [p.name for p in schema.PARAMETERS if p.pipeline and p.type is bool]
    assert booleans  # detection_thread, align_faces, ...
    for name in booleans:
        config = cli.pipeline_config(cli.parse_args(["x.jpg", cli.flag(name), text]), photo=False)
        assert getattr(config, name) is value, (name, text)


def test_a_photo_always_confirms_at_once():
    args = cli.parse_args(["x.jpg", "--confirm-frames", "5"])
    assert cli.pipeline_config(args, photo=True).confirm_frames == 1
    assert cli.pipeline_config(args, photo=False).confirm_frames == 5
    assert cli.pipeline_config(cli.parse_args(["x.jpg"]), photo=False).confirm_frames == schema.default(
        "confirm_frames")


@pytest.mark.parametrize("argv, message", [
    (["--max-faces", "0"], "argument --max-faces: max_faces must lie in [1, 100], got 0"),
    (["--detection-max-side", "32"], "detection_max_side must be 0 (off) or lie in [64, 8192]"),
    (["--detector", "mtcnn"], "invalid choice: 'mtcnn'"),
    (["--hysteresis", "x"], "argument --hysteresis: invalid float value"),
    (["--detection-thread", "maybe"], "argument --detection-thread: expected true or false, got 'maybe'"),
])
def test_bad_values_exit_2_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(["x.jpg", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_photo_reports_every_face_even_with_a_long_confirmation(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    face = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    photo = tmp_path / "two.png"
    cv2.imwrite(str(photo), np.hstack([face, face]))
    done = subprocess.run([sys.executable, "-m", "fer_ros.cli", str(photo), "--confirm-frames", "30",
                           "--detector", "haar"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and all(" happy " in line for line in lines), done.stdout
