"""fer_models.evaluate: the JSON report of a model whose answers are known."""

from __future__ import annotations

import json

import pytest

from fer_models_fixtures import always_happy, tiny_csv  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")


def test_evaluate_cli_json_is_correct_for_a_known_model(always_happy, tiny_csv, capsys):
    from fer_models import evaluate

    _, path = always_happy
    assert evaluate.main(["--data", str(tiny_csv), "--split", "PublicTest", "--model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 14 and result["split"] == "PublicTest"
    assert result["accuracy"] == pytest.approx(2 / 14, abs=1e-4)  # labels i % 7: two happy rows
    assert result["per_class"]["happy"]["recall"] == 1.0 and result["per_class"]["angry"]["recall"] == 0.0
    assert result["macro_f1"] == pytest.approx((2 * (1 / 7) / (1 / 7 + 1)) / 7, abs=1e-3)
    assert sum(map(sum, result["confusion_matrix"]["rows_true_cols_predicted"])) == 14
