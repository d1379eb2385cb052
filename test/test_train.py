"""fer_models.train on tiny data: a smoke run with resume, starting weights, online distillation,
the time budget, augmentation and random erasing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_models_fixtures import tiny_csv  # noqa: F401 (pytest fixtures)

keras = pytest.importorskip("keras")


def test_one_epoch_training_smoke_run_and_resume(tiny_csv, tmp_path):
    from fer_models import train

    out = tmp_path / "run"
    common = ["--data", str(tiny_csv), "--out", str(out), "--arch", "baseline", "--batch-size", "16",
              "--no-progress"]
    assert train.main(common + ["--epochs", "1"]) == 0
    assert (out / "best.keras").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "baseline_cnn" and 0 <= summary["val_accuracy"] <= 1
    assert train.main(common + ["--epochs", "2"]) == 0  # resumes from the backup: one more epoch
    rows = [line.split(",")[0] for line in (out / "history.csv").read_text().splitlines()]
    assert [r for r in rows if r != "epoch"] == ["0", "1"]


def test_initial_weights_copy_a_trained_model_of_the_same_architecture_only(tmp_path):
    from fer_models.architectures import fernet
    from fer_models.train import start_from

    trained = fernet(width=4)
    trained.save(tmp_path / "trained.keras")
    fresh = fernet(width=4)
    start_from(fresh, str(tmp_path / "trained.keras"))
    for ours, theirs in zip(fresh.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(SystemExit, match="same --arch and --width"):
        start_from(fernet(width=8), str(tmp_path / "trained.keras"))


def test_distillation_and_time_budget(tiny_csv, tmp_path):
    """A second run, a small fernet with less dropout, learns from the first (--teacher, online), with
    random erasing; a zero-second budget stops it after one epoch."""
    import keras

    from fer_models import train

    common = ["--data", str(tiny_csv), "--batch-size", "16", "--no-progress"]
    assert train.main(common + ["--arch", "baseline", "--out", str(tmp_path / "teacher"), "--epochs", "1"]) == 0
    student = tmp_path / "student"
    assert train.main(common + ["--out", str(student), "--epochs", "5", "--time-budget", "0.001",
                                "--arch", "fernet", "--width", "4", "--dropout", "0.2",
                                "--random-erasing", "0.5", "--teacher-online",
                                "--teacher", str(tmp_path / "teacher" / "best.keras")]) == 0
    summary = json.loads((student / "summary.json").read_text())
    assert summary["model"] == "fernet_w4" and summary["epochs_planned"] == 1
    rates = [layer.rate for layer in keras.models.load_model(student / "best.keras").layers
             if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2]
    assert len((student / "history.csv").read_text().splitlines()) == 2  # header + one epoch


def test_time_budget_plans_from_epochs_after_the_first(monkeypatch):
    """A first epoch slowed by compilation does not end a run that has time left (a device run with a
    195 s budget planned a single epoch this way); later epochs plan the rest."""
    from types import SimpleNamespace

    from fer_models import train

    clock = iter([0.0, 60.0, 70.0, 101.0])  # start; first epoch 60 s, then 10 s, then past the budget
    monkeypatch.setattr(train.time, "time", lambda: next(clock))
    plan = {"epochs": 50, "max_epochs": 50}
    budget = train.time_budget(plan, seconds=100)
    budget.set_model(SimpleNamespace(stop_training=False))
    budget.on_epoch_end(0, {})
    assert (plan["epochs"], budget.model.stop_training) == (2, False)
    budget.on_epoch_end(1, {})
    assert (plan["epochs"], budget.model.stop_training) == (5, False)  # 30 s left at 10 s per epoch
    budget.on_epoch_end(2, {})
    assert (plan["epochs"], budget.model.stop_training) == (3, True)


def test_teacher_targets_are_softened_distributions(tmp_path):
    from fer_models.train import Teacher, augmented_batches

    inputs = keras.Input((48, 48, 1))
    logits = keras.layers.Dense(7)(keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs)))
    path = tmp_path / "teacher.keras"
    keras.Model(inputs, keras.layers.Softmax()(logits)).save(path)
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype(np.float32)
    sharp, soft = Teacher(str(path), 1.0).targets(images), Teacher(str(path), 4.0).targets(images)
    np.testing.assert_allclose(sharp.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(soft.sum(axis=1), 1, atol=1e-5)
    assert (soft.max(axis=1) < sharp.max(axis=1)).all()  # a higher temperature flattens

    # online distillation: each batch's targets mix in the teacher's view of those augmented faces
    teacher = Teacher(str(path), 2.0)
    labels = np.eye(7, dtype=np.float32)[np.arange(5) % 7]
    batches = augmented_batches(images, labels, np.ones(5, np.float32), 5, seed=1, teacher=teacher,
                                teacher_mix=0.25)
    faces, targets, _ = batches[0]
    np.testing.assert_allclose(targets, 0.75 * labels[batches.order] + 0.25 * teacher.targets(faces), atol=1e-6)
    assert not np.array_equal(faces, images[batches.order])  # the teacher saw the augmented faces

    # with detector framings the model sees a detector's crop, the teacher FER2013's own framing of
    # the same face, augmented alike (faces all cut to their left half here: framing_mix 1)
    from fer_models.train import augment

    framings = np.tile(np.array([[[-0.25, 0.0, 0.5, 0.0]]], np.float32), (5, 1, 1))
    batches = augmented_batches(images, labels, np.ones(5, np.float32), 5, seed=1, teacher=teacher,
                                teacher_mix=0.25, framings=framings, framing_mix=1.0)
    faces, targets, _ = batches[0]
    rows, key = batches.order, (1, batches.epoch, 0)
    as_framed = augment(images[rows], np.random.default_rng(key))
    np.testing.assert_allclose(targets, 0.75 * labels[rows] + 0.25 * teacher.targets(as_framed), atol=1e-6)
    assert not np.allclose(faces, as_framed, atol=1)  # the model saw the detector's (left-half) crops


def test_augment_keeps_shape_range_and_is_seeded():
    from fer_models.train import augment

    images = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    a = augment(images, np.random.default_rng(7))
    b = augment(images, np.random.default_rng(7))
    assert a.shape == images.shape and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 255
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, images)


def test_random_erasing_covers_one_bounded_rectangle_per_chosen_face():
    from fer_models.train import augment, erase_rectangles

    flat = np.full((200, 48, 48, 1), 128, np.float32)
    erased = flat.copy()
    erase_rectangles(erased, np.random.default_rng(3), probability=1.0)
    changed = erased[..., 0] != 128
    areas = changed.sum(axis=(1, 2))
    assert (areas > 0).all() and (areas <= 0.25 * 48 * 48 + 48).all()
    for mask in changed[:20]:  # the changed pixels lie inside one rectangle
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].mean() > 0.95
    untouched = flat.copy()
    erase_rectangles(untouched, np.random.default_rng(3), probability=0.0)
    np.testing.assert_array_equal(untouched, flat)
    # erasing=0 leaves the augmentation earlier runs were trained with unchanged
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    np.testing.assert_array_equal(augment(faces, np.random.default_rng(7)),
                                  augment(faces, np.random.default_rng(7), erasing=0.0))


def test_the_defaults_are_the_shipped_default_models_recipe():
    """`python -m fer_models.train` with no flags trains what MODEL_CARD.md's command trained; only
    the places (data, out), the wall-clock budget that planned its 64 epochs, the patience that
    never stopped it and the log format differ."""
    import re
    import shlex

    from fer_models import train
    from fer_ros.core.classifiers.onnx import SHIPPED_MODELS

    card = (SHIPPED_MODELS["default"].parent / "MODEL_CARD.md").read_text()
    command = re.search(r"```\npython -m fer_models\.train (.*?)\n```", card, re.S).group(1)
    recorded = vars(train.parse_args(shlex.split(command.replace("\\\n", " "))))
    defaults = vars(train.parse_args([]))
    assert "64 of 300" in card and defaults["epochs"] == 64
    assert defaults["time_budget"] == 0 and defaults["patience"] == 0  # no budget, no early stopping
    places = {"data", "out", "epochs", "time_budget", "patience", "no_progress"}
    assert {k: v for k, v in defaults.items() if k not in places} == \
        {k: v for k, v in recorded.items() if k not in places}


def test_reframe_cuts_a_face_at_its_detectors_square_or_leaves_it():
    """--framings: a face is cut again at the square a detector's crop took of it (here: its left
    half, or all of it), by the pipeline's crop; a face the drawn detector missed, or with mix 0,
    keeps its own framing."""
    from fer_models.train import reframe

    yy, xx = np.mgrid[0:48, 0:48]
    faces = np.repeat((xx * 5.0 + yy * 0.1)[None, :, :, None], 3, axis=0).astype(np.float32)
    nan = [np.nan] * 4
    framings = np.array([[[0.0, 0.0, 1.0, 0.0]],  # the face's own square
                         [[-0.25, 0.0, 0.5, 0.0]],  # its left half, centred a quarter of a side left
                         [nan]], np.float32)  # not found
    out = reframe(faces, framings, np.random.default_rng(0), mix=1.0)
    np.testing.assert_allclose(out[0], faces[0], atol=1e-3)
    # the left half, twice as large: output pixel u samples face pixel x = u / 2 - 0.25 (the edge
    # repeated left of 0), and row 24 face row 23.75
    x = np.maximum(0, np.arange(48) / 2 - 0.25)
    np.testing.assert_allclose(out[1, 24, :, 0], 5.0 * x + 0.1 * 23.75, atol=1e-3)
    np.testing.assert_array_equal(out[2], faces[2])
    np.testing.assert_array_equal(reframe(faces, framings, np.random.default_rng(0), mix=0.0), faces)


def test_framings_files_are_read_by_training_face_and_checked(tmp_path):
    from fer_models.train import load_framings

    rows = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.savez(tmp_path / "a.npz", framings=rows, columns=np.array(["dx", "dy", "side", "angle"]))
    np.savez(tmp_path / "bad.npz", framings=rows, columns=np.array(["x", "y", "w", "h"]))
    assert load_framings([], 3) is None
    loaded = load_framings([str(tmp_path / "a.npz")] * 2, 3)
    assert loaded.shape == (3, 2, 4)
    np.testing.assert_array_equal(loaded[:2, 1], rows)
    assert np.isnan(loaded[2]).all()  # a face past the file's end has no framing
    with pytest.raises(SystemExit, match="detector_framings"):
        load_framings([str(tmp_path / "bad.npz")], 3)
    with pytest.raises(SystemExit, match="no such file"):
        load_framings([str(tmp_path / "none.npz")], 3)
