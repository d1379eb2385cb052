"""fer_models.data: the Kaggle CSV and folder loaders, malformed input, FER+ votes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fer_ros.core.emotions import EMOTIONS
from fer_models.data import DatasetError, attach_ferplus, load_split, read_csv

from fer_models_fixtures import tiny_csv, tiny_rows, write_csv  # noqa: F401 (tiny_csv: a fixture)


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
