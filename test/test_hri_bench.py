"""The REP-155 bench (python -m fer_ros.bench.hri) runs end to end in a short form and reports every
target of issue 29; its face boxes lie on the faces of the sequence. No timing is asserted."""

from __future__ import annotations

import json
import os

import numpy as np

from fer_ros.bench.frames import SyntheticSequence
from fer_ros.bench.hri import Run, face_boxes, targets
from fer_ros.core.detectors import create_detector
from hri_helpers import hri_env, hri_msgs


def test_face_boxes_are_on_the_faces_of_the_sequence():
    sequence = SyntheticSequence(6, 100)
    haar = create_detector("haar")
    for index in (0, 37):
        frame = sequence.frame(index)
        boxes = face_boxes(sequence, index)
        found = haar.detect(frame, 32)
        assert len(boxes) == 6
        for box in boxes:
            assert max(box.iou(f) for f in found) > 0.5, (box, found)


def test_targets_of_a_pair_and_all_pairs():
    off = Run("node", 10, (0.0, 0.0, 0.0), cpu_share=0.5)
    on = Run("node (hri_output)", 10, (0.0, 0.0, 0.0), published=300, tracked=297, listed=1782, expressed=1780,
             latencies_ms=list(np.linspace(10, 60, 100)), ids=[f"face_{k}" for k in range(6)], cpu_share=0.55)
    recognizer = Run("recognizer", 10, (0.0, 0.0, 0.0), published=1800, answered=1700,
                     latencies_ms=[20.0] * 95 + [80.0] * 5)
    found = {t.name.split(": ", 1)[-1]: t for t in targets([off, on, off, on, recognizer])}
    assert found["frames with /humans/faces/tracked"].value == 99.0
    assert abs(found["CPU share added by hri_output"].value - 10.0) < 1e-9
    assert abs(found["CPU share added by hri_output, all 2 pairs"].value - 10.0) < 1e-9
    assert found["crops answered"].reached is False  # 94.4% < 95%
    assert found["p99 crop stamp to /expression"].value == 80.0 and not found["p99 crop stamp to /expression"].reached


def test_a_short_run_reports_every_target(tmp_path, monkeypatch):
    hri_msgs()  # importable here (or skip)
    env = hri_env()
    for name in ("PYTHONPATH", "LD_LIBRARY_PATH", "AMENT_PREFIX_PATH"):  # the processes it starts need them too
        monkeypatch.setenv(name, env.get(name, ""))
    monkeypatch.setenv("FER_ROS_HOME", os.environ["FER_ROS_HOME"])  # the bench sets its own; restored after
    from fer_ros.bench.hri import main

    out = tmp_path / "hri.json"
    affinity = os.sched_getaffinity(0)
    try:
        assert main(["--seconds", "1.5", "--warmup", "0.5", "--repeats", "1", "--json", str(out)]) == 0
    finally:
        os.sched_setaffinity(0, affinity)  # the bench keeps itself off the measured core
    report = json.loads(out.read_text())
    kinds = [run["kind"] for run in report["runs"]]
    assert kinds == ["node", "node (hri_output)", "recognizer"]
    assert not [run["error"] for run in report["runs"] if run["error"]]
    with_hri = report["runs"][1]
    assert with_hri["published"] > 0 and with_hri["tracked"] > 0 and with_hri["expressed"] > 0
    assert report["runs"][2]["answered"] > 0
    names = [t["name"] for t in report["targets"]]
    for part in ("frames with /humans/faces/tracked", "with their /expression", "p99 image stamp to /expression",
                 "face ids", "CPU share added", "crops answered", "p99 crop stamp"):
        assert any(part in name for name in names), part
    assert all(t["value"] is not None for t in report["targets"])
