"""The device job of issue 18 (fer_models.jobs.gpu_models): its arguments, its data packing and
results packing, and a dry run on the CPU (generated tiny data, one step). Not the training itself."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

from fer_models import train
from fer_models.data import read_csv
from fer_models.jobs import gpu_models
from fer_models.jobs.gpu_models import RUNS, main, merged, run_arguments

MODELS = {"default": Path("/m/default.keras"), "fast": Path("/m/fast.keras")}


def test_unknown_run_name_is_refused_with_the_choices(tmp_path, capsys):
    assert main(["run", "--runs", "w48,w99", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "w99" in error and all(name in error for name in RUNS)
    assert not (tmp_path / "out").exists()


def test_without_out_or_OUT_it_says_how_to_give_one(monkeypatch, capsys):
    monkeypatch.delenv("OUT", raising=False)
    assert main(["run", "--dry-run"]) == 2
    assert "$OUT is unset" in capsys.readouterr().err


def test_missing_data_names_the_file_and_prepare(tmp_path, capsys):
    missing = tmp_path / "nowhere.xz"
    assert main(["run", "--dry-run", "--out", str(tmp_path / "out"), "--data", str(missing)]) == 2
    error = capsys.readouterr().err
    assert str(missing) in error and "prepare" in error


def test_unpack_without_parts_is_refused(tmp_path, capsys):
    assert main(["unpack", str(tmp_path), "--to", str(tmp_path / "runs")]) == 2
    assert "runs.tar" in capsys.readouterr().err


def test_a_later_value_of_a_flag_replaces_the_earlier_one():
    assert merged(["--lr", "3", "--no-progress", "--seed", "1"], ["--seed", "2", "--teacher-online"]) == [
        "--lr", "3", "--no-progress", "--seed", "2", "--teacher-online"]


def test_every_run_parses_with_fer_models_train_and_has_the_issues_settings(tmp_path):
    parsed = {run.name: train.parse_args(run_arguments(run, tmp_path / "d.csv", tmp_path / run.name, MODELS,
                                                       400, dry_run=False))
              for run in RUNS.values()}
    assert {n: a.width for n, a in parsed.items()} == {"w48": 48, "w64": 64, "w32_seed2": 32, "w16_kd": 16,
                                                       "w32_kd": 32}
    assert parsed["w32_seed2"].seed == 2 and parsed["w48"].seed == 1337
    for name in ("w16_kd", "w32_kd"):
        assert parsed[name].teacher == str(MODELS["default"]) and parsed[name].teacher_online
    assert parsed["w16_kd"].initial_weights == str(MODELS["fast"])
    for args in parsed.values():
        assert args.time_budget == 400 and args.epochs == 300 and args.no_progress
        assert args.out.startswith(str(tmp_path))


def test_packed_data_comes_back_as_the_same_csv_rows(tmp_path):
    source = gpu_models.tiny_csv(tmp_path / "tiny.csv", n_train=9, n_val=5)
    meta = gpu_models.pack_data(source, tmp_path / "gpu" / "fer2013.xz")
    assert meta["splits"] == {"Training": 9, "PublicTest": 5}
    _, faces = gpu_models.unpack_data(tmp_path / "gpu" / "fer2013.xz", tmp_path / "back.csv")
    before, after = read_csv(source), read_csv(tmp_path / "back.csv")
    for split in gpu_models.SPLITS:
        assert np.array_equal(before[split].images, after[split].images)
        assert np.array_equal(before[split].labels, after[split].labels)
    assert np.array_equal(faces, before["Training"].images)


def test_results_are_cut_into_parts_without_the_backups(tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out"
    (work / "w64" / "backup").mkdir(parents=True)
    out.mkdir()
    (work / "w64" / "best.keras").write_bytes(os.urandom(2500))
    (work / "w64" / "backup" / "latest.weights.h5").write_bytes(b"x" * 100)
    (work / "w64.log").write_text("log\n")
    monkeypatch.setattr(gpu_models, "PART_BYTES", 1000)
    parts = gpu_models.pack_results(work, ["w64", "w48"], out)
    assert len(parts) > 2 and all(p.stat().st_size <= 1000 for p in parts)
    names = gpu_models.unpack_results(out, tmp_path / "back")
    assert "w64/best.keras" in names and "w64.log" in names and not any("backup" in n for n in names)
    back = tmp_path / "back" / "w64" / "best.keras"
    assert back.read_bytes() == (work / "w64" / "best.keras").read_bytes()


def test_dry_run_writes_each_runs_checkpoint_log_and_evaluation(tmp_path):
    """The whole job on the CPU, for a plain run and a distilled one (teacher and starting weights
    rebuilt from the shipped ONNX files): one step of one epoch on a generated tiny FER2013."""
    out = tmp_path / "out"
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "fer_models.jobs.gpu_models", "run", "--dry-run",
                           "--runs", "w64,w16_kd", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["job.json", "job.log", "runs.tar.00"]  # the device brings back 8 files at most
    summary = json.loads((out / "job.json").read_text())
    assert summary["dry_run"] and max(summary["shipped_models_rebuilt_difference"].values()) < 1e-4
    with tarfile.open(fileobj=io.BytesIO((out / "runs.tar.00").read_bytes())) as tar:
        names = set(tar.getnames())
        for run in ("w64", "w16_kd"):
            assert {f"{run}/best.keras", f"{run}/history.csv", f"{run}/args.json", f"{run}.log",
                    f"{run}/evaluation.json", f"{run}/evaluation_flip.json"} <= names
            evaluation = json.load(tar.extractfile(f"{run}/evaluation.json"))
            assert 0 <= evaluation["accuracy"] <= 1 and evaluation["split"] == "PublicTest"
            assert evaluation["n"] == 21 and len(evaluation["per_class"]) == 7
            assert summary["runs"][run]["status"] == "finished" and summary["runs"][run]["epochs"] == 1
            assert summary["runs"][run]["evaluation_accuracy"] == evaluation["accuracy"]
        args = json.load(tar.extractfile("w16_kd/args.json"))
    assert args["teacher_online"] and args["initial_weights"].endswith("shipped_fast.keras")
    assert args["width"] == 16 and args["epochs"] == 1
    assert "w64: started" in (out / "job.log").read_text()
