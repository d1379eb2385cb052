"""fer_models.report and the figures of fer_models.evaluate."""

from __future__ import annotations

import cv2
import pytest

from fer_models_fixtures import always_happy, tiny_csv  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")


def test_report_and_evaluation_figures(tiny_csv, always_happy, tmp_path, capsys):
    from fer_models import evaluate, report

    assert report.main(["--data", str(tiny_csv), "--out", str(tmp_path / "r")]) == 0
    assert "Training: 42 faces" in capsys.readouterr().out
    _, model = always_happy
    evaluate.main(["--data", str(tiny_csv), "--split", "PublicTest", "--model", str(model),
                   "--figures", str(tmp_path / "f")])
    for png in [tmp_path / "r" / "class_distribution.png", tmp_path / "r" / "examples_Training.png",
                tmp_path / "f" / "confusion_matrix.png", tmp_path / "f" / "misclassified.png"]:
        assert cv2.imread(str(png)) is not None, png
