"""fer_models.latency: models timed side by side."""

from __future__ import annotations

import pytest

from fer_models_fixtures import always_happy  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")


def test_latency_cli_times_models_side_by_side(always_happy, capsys):
    from fer_models import latency

    _, path = always_happy
    assert latency.main(["fast", str(path), "--rounds", "2", "--repeats", "4", "--batch", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "median of 2 rounds of 4 calls" in lines[0] and "ms/face (3)" in lines[1]
    fast, happy = lines[2].split(), lines[3].split()
    assert fast[:2] == ["fast", "(fernet_w16)"] and fast[-1] == "1.00"  # the first model is the reference
    assert happy[1] == "(always_happy)" and all(float(v) > 0 for v in happy[2:])
