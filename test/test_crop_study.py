"""The crop studies (python -m fer_ros.bench.crop_study): the combine study's scores per view and its
rules for combining views, and a short run of it. No accuracy is asserted."""

from __future__ import annotations

import numpy as np
import pytest

from fer_ros.bench.crop_study import GRID_SCALES, GRID_SHIFTS, combined, main, view_scores
from fer_ros.core.types import FaceSquare
from fer_ros.core.views import View


def test_each_rule_combines_the_views_of_each_face():
    # one face, three views: two lean to class 1, one is split between class 0 and class 2
    scores = np.array([[[0.4, 0.6, 0, 0, 0, 0, 0], [0.4, 0.6, 0, 0, 0, 0, 0], [0.3, 0.01, 0.69, 0, 0, 0, 0]]])
    assert np.allclose(combined(scores, "mean"), [[1.1 / 3, 1.21 / 3, 0.23, 0, 0, 0, 0]])  # class 1
    assert combined(scores, "geometric mean").argmax() == 0  # the third view's 0.01 sinks class 1 in logs
    weighted = combined(scores, "weighted by confidence")  # each view times its top probability
    assert np.allclose(weighted[0, :3], [0.4 * 0.6 * 2 + 0.3 * 0.69, 0.6 * 0.6 * 2 + 0.01 * 0.69, 0.69 * 0.69])
    assert weighted.argmax() == 1
    assert np.array_equal(combined(scores, "most confident view"), scores[:, 2])  # class 2
    with pytest.raises(ValueError):
        combined(scores, "median")


class ByBrightness:
    """A stand-in classifier whose 'probabilities' are each crop's mean grey level in slot 0."""

    input_size = 48

    def predict_single(self, batch: np.ndarray) -> np.ndarray:
        out = np.zeros((len(batch), 7), np.float32)
        out[:, 0] = batch.reshape(len(batch), -1).mean(axis=1)
        return out


def test_view_scores_keep_each_face_and_view_in_place():
    # 70 faces (more than one batch of 64): face i is a frame of grey level i; views mirrored or not
    items = [(np.full((120, 160), i, np.uint8), FaceSquare(80.0, 60.0, 48.0)) for i in range(70)]
    views = [View(), View(mirror=True), View(0.92)]
    scores = view_scores(ByBrightness(), items, views)
    assert scores.shape == (70, 3, 7)
    assert np.allclose(scores[:, :, 0], np.arange(70)[:, None])


def test_a_short_combine_run_prints_every_framing_set_and_rule(fer_csv, scenes, capsys):
    assert main(["combine", "--faces", "8", "--detector", "haar", "--data", str(fer_csv),
                 "--scenes", str(scenes)]) == 0
    out = capsys.readouterr().out
    assert "haar: " in out and " of 8 found" in out
    for model in ("default", "fast"):
        assert f"{model}: direct " in out
    for name in ("face + mirror", "3 scales", "the cycle (shipped)", "9 framings", "all 25", "geometric mean",
                 "weighted by confidence", "most confident view", "default 0.7 + fast 0.3"):
        assert name in out, name
    grid_rows = [line for line in out.splitlines() if line.strip().startswith(tuple(f"{s:.2f} " for s in GRID_SCALES))]
    assert len(grid_rows) == 2 * len(GRID_SCALES)
    assert all(len(row.split()) == 1 + len(GRID_SHIFTS) for row in grid_rows)
