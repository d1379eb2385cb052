"""The model cache folder and what `detector: auto` resolves to, with and without the verified YuNet."""

from __future__ import annotations

import shutil
from pathlib import Path

from fer_ros.core.config import resolve_detector
from fer_ros.core.model_cache import YUNET_FILE, cache_dir, cached_yunet


def test_cache_dir_is_fer_ros_home_or_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_ROS_HOME", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("FER_ROS_HOME")
    assert cache_dir() == Path.home() / ".cache" / "fer_ros"


def test_tests_start_with_an_empty_cache():
    # conftest points FER_ROS_HOME at an empty folder, so `auto` is Haar unless a test says otherwise
    assert cached_yunet() is None
    assert resolve_detector("auto", "")[0] == "haar"


def test_auto_is_haar_with_an_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_ROS_HOME", str(tmp_path))
    backend, model, line = resolve_detector("auto", "")
    assert (backend, model) == ("haar", "")
    assert "fetch_models" in line and str(tmp_path) in line


def test_auto_is_yunet_with_the_verified_cached_file(tmp_path, monkeypatch, yunet_model):
    monkeypatch.setenv("FER_ROS_HOME", str(tmp_path))
    shutil.copyfile(yunet_model, tmp_path / YUNET_FILE)
    assert resolve_detector("auto", "")[:2] == ("yunet", str(tmp_path / YUNET_FILE))


def test_auto_is_haar_with_a_corrupted_cached_file(tmp_path, monkeypatch, yunet_model):
    monkeypatch.setenv("FER_ROS_HOME", str(tmp_path))
    data = bytearray(Path(yunet_model).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / YUNET_FILE).write_bytes(data)
    assert cached_yunet() is None
    assert resolve_detector("auto", "")[:2] == ("haar", "")


def test_auto_is_yunet_when_yunet_model_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_ROS_HOME", str(tmp_path))
    assert resolve_detector("auto", "/models/yunet.onnx")[:2] == ("yunet", "/models/yunet.onnx")
    assert resolve_detector("haar", "")[0] == "haar"  # an explicit choice is kept
