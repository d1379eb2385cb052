"""fer_models on tiny data made here: loaders, malformed input, training smoke run with resume,
ONNX export parity, evaluate CLI, and the classifier's model-file checks."""

from __future__ import annotations

import csv
import gzip
import json
import shutil

import cv2
import numpy as np
import pytest

from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ModelError
from fer_models.data import DatasetError, attach_ferplus, load_split, read_csv

RNG = np.random.default_rng(7)


def write_csv(path, rows, header=("emotion", "pixels", "Usage")):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def tiny_rows(n_train=42, n_test=14):
    rows = []
    for usage, n in (("Training", n_train), ("PublicTest", n_test)):
        for i in range(n):
            pixels = " ".join(map(str, RNG.integers(0, 256, 48 * 48)))
            rows.append((i % 7, pixels, usage))
    return rows


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("fer") / "fer2013.csv.gz", tiny_rows())


def test_csv_loader_reads_splits_and_counts(tiny_csv):
    splits = read_csv(tiny_csv)
    assert set(splits) == {"Training", "PublicTest"}
    train = splits["Training"]
    assert train.images.shape == (42, 48, 48) and train.images.dtype == np.uint8
    assert train.class_counts() == {name: 6 for name in EMOTIONS}
    assert load_split(tiny_csv, "PublicTest").labels.tolist() == [i % 7 for i in range(14)]


@pytest.mark.parametrize("row, message", [
    (("9", " ".join(["1"] * 2304), "Training"), "unknown label 9"),
    (("1", " ".join(["1"] * 2000), "Training"), "2000 pixel values, expected 2304"),
    (("1", " ".join(["300"] * 2304), "Training"), "0..255"),
    (("x", " ".join(["1"] * 2304), "Training"), "not an integer"),
])
def test_malformed_rows_name_the_line_and_the_problem(tmp_path, row, message):
    path = write_csv(tmp_path / "bad.csv", tiny_rows(3, 1) + [row])
    with pytest.raises(DatasetError, match=message) as error:
        read_csv(path)
    assert "line 6" in str(error.value)


def test_wrong_header_and_missing_split(tmp_path, tiny_csv):
    with pytest.raises(DatasetError, match="missing column"):
        read_csv(write_csv(tmp_path / "h.csv", [("1", "2")], header=("label", "image")))
    with pytest.raises(DatasetError, match="PrivateTest.*present: PublicTest, Training"):
        load_split(tiny_csv, "PrivateTest")


def test_folder_layout(tmp_path):
    for i, name in enumerate(EMOTIONS):
        folder = tmp_path / "test" / name
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "a.png"), np.full((48, 48), i * 30, np.uint8))
    split = load_split(tmp_path, "test")
    assert split.labels.tolist() == list(range(7))
    assert split.images[3].mean() == 90
    (tmp_path / "test" / "contempt").mkdir()
    with pytest.raises(DatasetError, match="contempt"):
        load_split(tmp_path, "test")


def test_ferplus_votes_become_soft_labels(tmp_path, tiny_csv):
    header = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust",
              "fear", "contempt", "unknown", "NF"]
    votes = [["Training", f"fer{i}.png", 5, 5, 0, 0, 0, 0, 0, 0, 0, 0] for i in range(56)]
    votes[1] = ["Training", "x", 0, 0, 0, 0, 0, 0, 0, 0, 10, 0]  # no FER2013 class: keep the label
    path = write_csv(tmp_path / "ferplus.csv", votes, header=header)
    split = attach_ferplus(read_csv(tiny_csv)["Training"], path)
    assert split.soft_labels[0].tolist() == [0, 0, 0, 0.5, 0, 0, 0.5]
    assert split.soft_labels[1].tolist() == np.eye(7)[1].tolist()


# --- Keras parts (TensorFlow) -------------------------------------------------------------------
keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def always_happy(tmp_path_factory):
    """An exported model that answers 'happy' for every face: its metrics are known exactly."""
    from keras import layers

    from fer_models.export import export_onnx
    from fer_ros.core.sidecar import write_sidecar

    inputs = keras.Input((48, 48, 1))
    x = layers.GlobalAveragePooling2D()(inputs)
    outputs = layers.Dense(7, activation="softmax", kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(np.eye(7)[3] * 5))(x)
    model = keras.Model(inputs, outputs, name="always_happy")
    path = tmp_path_factory.mktemp("model") / "happy.onnx"
    export_onnx(model, path)
    write_sidecar(path, model.name, 48)
    return model, path


def test_export_parity_and_classifier_output(always_happy):
    from fer_models.export import parity

    model, path = always_happy
    faces = RNG.integers(0, 256, (5, 48, 48), dtype=np.uint8)
    assert parity(model, path, faces) < 1e-5
    probabilities = EmotionClassifier(path).predict(faces)
    assert probabilities.shape == (5, 7)
    assert np.allclose(probabilities.sum(axis=1), 1) and np.all(probabilities.argmax(axis=1) == 3)


def test_export_temperature_matches_the_calibration_evaluate_fits():
    from keras import layers

    from fer_models.evaluate import rescale
    from fer_models.export import with_temperature

    inputs = keras.Input((48, 48, 1))
    x = layers.Flatten()(layers.AveragePooling2D(8)(inputs))
    model = keras.Model(inputs, layers.Dense(7, activation="softmax", kernel_initializer="random_normal")(x))
    faces = RNG.integers(0, 256, (6, 48, 48, 1)).astype(np.float32) / 255
    raw = model.predict(faces, verbose=0)
    sharpened = with_temperature(model, 0.5).predict(faces, verbose=0)
    assert np.allclose(sharpened, rescale(raw, 0.5), atol=1e-5)
    assert np.array_equal(sharpened.argmax(axis=1), raw.argmax(axis=1))
    assert np.all(sharpened.max(axis=1) > raw.max(axis=1))  # T < 1: more confident, same choice


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


def test_classifier_refuses_broken_model_files(always_happy, tmp_path):
    _, path = always_happy
    copy = tmp_path / "m.onnx"
    shutil.copy(path, copy)
    with pytest.raises(ModelError, match="sidecar"):
        EmotionClassifier(copy)
    shutil.copy(path.with_suffix(".json"), copy.with_suffix(".json"))
    EmotionClassifier(copy)  # intact copy loads
    copy.write_bytes(copy.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="checksum"):
        EmotionClassifier(copy)
    spec = json.loads(path.with_suffix(".json").read_text())
    spec["labels"] = ["a"] * 7
    copy.with_suffix(".json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="labels"):
        EmotionClassifier(copy)
    with pytest.raises(ModelError, match="does not exist"):
        EmotionClassifier(tmp_path / "none.onnx")


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


def test_fer_package_peer_gets_its_own_preprocessing(tmp_path):
    """The peer adapter feeds 64x64 faces scaled to [-1, 1], as the fer package does."""
    from keras import layers

    from fer_models.peers import FerMiniXception

    inputs = keras.Input((64, 64, 1))
    outputs = layers.Dense(7, activation="softmax")(layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    weights = tmp_path / "emotion_model.hdf5"
    model.save(weights)
    faces = RNG.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    expected = model.predict(np.stack([cv2.resize(f, (64, 64)) for f in faces])[..., None] / 127.5 - 1.0,
                             verbose=0)
    np.testing.assert_allclose(FerMiniXception(weights).predict(faces), expected, atol=1e-5)


def test_mobilenet_v2_builds_from_scratch_and_refuses_a_missing_weights_file(tmp_path):
    import keras

    from fer_models.architectures import mobilenet_v2

    model = mobilenet_v2()
    assert model.output_shape == (None, 7)
    norms = [layer for layer in model.get_layer("mobilenetv2_1.00_96").layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.9 for layer in norms)
    with pytest.raises(FileNotFoundError, match="cannot download ImageNet weights"):
        mobilenet_v2(imagenet_weights=str(tmp_path / "absent.h5"))


def test_model_card_names_role_recipe_and_card_file(always_happy, tiny_csv, tmp_path, capsys):
    from fer_models import evaluate, model_card

    _, path = always_happy
    run = tmp_path / "run"
    run.mkdir()
    (run / "args.json").write_text(json.dumps({
        "data": "fer2013.csv", "arch": "fernet", "width": 16, "epochs": 3, "batch_size": 128, "lr": 0.003,
        "warmup_epochs": 1, "weight_decay": 0.01, "label_smoothing": 0.1, "class_weight_power": 0.3,
        "random_erasing": 0.4, "time_budget": 0, "seed": 1337, "teacher": None, "teacher_mix": 0.5}))
    (run / "history.csv").write_text("epoch,val_accuracy\n0,0.2\n1,0.4\n2,0.3\n")
    assert evaluate.main(["--data", str(tiny_csv), "--split", "PublicTest", "--model", str(path), "--json"]) == 0
    (run / "evaluation.json").write_text(capsys.readouterr().out)
    assert model_card.main(["--run", str(run), "--onnx", str(path), "--evaluation", str(run / "evaluation.json"),
                            "--card", "CARD_fast.md", "--role", "The fast test model"]) == 0
    card = (path.parent / "CARD_fast.md").read_text()
    assert card.startswith("# Model card: always_happy\n\nThe fast test model, trained by this project.")
    assert "--random-erasing 0.4" in card and "random erasing with probability 0.4" in card
    assert "--teacher" not in card  # unused distillation settings are left out of the command
    assert "best PublicTest accuracy at epoch 2" in card and "Epochs run: 3 of 3" in card
    assert f"--model {path}" in card and "--flip-average" not in card


def test_model_card_describes_the_dropout_the_run_used():
    from fer_models.model_card import architecture_summary

    older = {"arch": "fernet", "width": 32}  # runs from before --dropout existed
    assert "(width 32): four stages" in architecture_summary(older)
    assert "global average pooling, dropout 0.4," in architecture_summary(older)
    assert "dropout 0.2," in architecture_summary({"arch": "fernet", "width": 16, "dropout": 0.2})
    assert architecture_summary({"arch": "baseline"}) == "."


def test_model_card_lineage_shows_teacher_and_the_starting_run_command(tmp_path):
    from fer_models.model_card import lineage

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "args.json").write_text(json.dumps({"data": "fer2013.csv", "width": 16, "lr": 0.003, "teacher": None}))
    (earlier / "history.csv").write_text("epoch,val_accuracy\n0,0.2\n1,0.4\n")
    args = {"teacher": "w32.keras", "teacher_mix": 0.5, "teacher_temperature": 2.0, "teacher_online": True,
            "initial_weights": "w16.keras"}
    text = "\n".join(lineage(args, earlier))
    assert "0.5 x the (smoothed) label + 0.5 x the teacher's probabilities" in text
    assert "temperature 2), the teacher being `w32.keras`; computed on every augmented batch" in text
    assert "Started from the trained weights `w16.keras`" in text and "--lr 0.003" in text
    assert "which ran 2 epochs" in text
    assert lineage({"teacher": None}, None) == []


def test_latency_cli_times_models_side_by_side(always_happy, capsys):
    from fer_models import latency

    _, path = always_happy
    assert latency.main(["fast", str(path), "--rounds", "2", "--repeats", "4", "--batch", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "median of 2 rounds of 4 calls" in lines[0] and "ms/face (3)" in lines[1]
    fast, happy = lines[2].split(), lines[3].split()
    assert fast[:2] == ["fast", "(fernet_w16)"] and fast[-1] == "1.00"  # the first model is the reference
    assert happy[1] == "(always_happy)" and all(float(v) > 0 for v in happy[2:])
