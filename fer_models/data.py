"""Load FER2013 from the Kaggle CSV (gzipped or not) or the ``train/<class>/*.jpg`` folder layout.

Images come back as ``uint8`` arrays of shape ``(n, 48, 48)`` and labels as ``int64`` indices into
:data:`fer_ros.core.emotions.EMOTIONS`. Malformed input raises :class:`DatasetError` with the file,
the row and what is wrong.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS

IMAGE_SIZE = 48
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")

# FER+ vote columns in fer2013new.csv, mapped to FER2013 label indices (contempt, unknown, NF: none).
FERPLUS_TO_FER = {
    "anger": 0, "disgust": 1, "fear": 2, "happiness": 3,
    "sadness": 4, "surprise": 5, "neutral": 6,
}


class DatasetError(ValueError):
    """A data file or folder is malformed; the message names the file, the row and the fix."""


@dataclass
class Split:
    """One split of FER2013: images ``(n, 48, 48) uint8``, labels ``(n,) int64``, optional soft labels."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    soft_labels: np.ndarray | None = None
    row_indices: np.ndarray | None = None  # position of each row in its CSV file, for FER+ alignment

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=NUM_EMOTIONS)
        return {name: int(c) for name, c in zip(EMOTIONS, counts)}


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _parse_row(path: Path, line: int, row: dict) -> tuple[int, np.ndarray]:
    try:
        label = int(row["emotion"])
    except (TypeError, ValueError):
        raise DatasetError(f"{path}, line {line}: emotion {row['emotion']!r} is not an integer") from None
    if not 0 <= label < NUM_EMOTIONS:
        raise DatasetError(
            f"{path}, line {line}: unknown label {label}; FER2013 labels are 0..6 = {', '.join(EMOTIONS)}")
    try:
        pixels = np.array(row["pixels"].split(), dtype=np.int32)
    except (AttributeError, ValueError):
        raise DatasetError(f"{path}, line {line}: pixels must be space-separated integers") from None
    if pixels.size != IMAGE_SIZE * IMAGE_SIZE:
        raise DatasetError(
            f"{path}, line {line}: {pixels.size} pixel values, expected {IMAGE_SIZE * IMAGE_SIZE} (48x48)")
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetError(f"{path}, line {line}: pixel values must lie in 0..255")
    return label, pixels.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def read_csv(path: str | Path) -> dict[str, Split]:
    """Read every split (by its ``Usage`` value) of a Kaggle-layout ``fer2013.csv[.gz]``.

    Rows keep their file order, so FER+ votes (row-aligned with the full table) can be attached.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; pass the Kaggle fer2013.csv (gzipped or not)")
    images: dict[str, list] = {}
    labels: dict[str, list] = {}
    rows: dict[str, list] = {}
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(
                f"{path}: missing column(s) {sorted(missing)}; expected the Kaggle header emotion,pixels,Usage")
        for index, row in enumerate(reader):
            label, image = _parse_row(path, index + 2, row)
            usage = row["Usage"]
            images.setdefault(usage, []).append(image)
            labels.setdefault(usage, []).append(label)
            rows.setdefault(usage, []).append(index)
    if not images:
        raise DatasetError(f"{path}: the file has a header but no rows")
    splits = {}
    for usage in images:
        splits[usage] = Split(usage, np.stack(images[usage]), np.array(labels[usage], dtype=np.int64),
                              row_indices=np.array(rows[usage]))
    return splits


def read_folder(root: str | Path, split: str) -> Split:
    """Read ``root/<split>/<class>/*.jpg`` (class folders named as in EMOTIONS) into a Split."""
    import cv2

    folder = Path(root) / split
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder; expected {root}/{split}/<class>/*.jpg")
    unknown = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in EMOTIONS)
    if unknown:
        raise DatasetError(f"{folder}: unknown class folder(s) {unknown}; expected {', '.join(EMOTIONS)}")
    images, labels = [], []
    for label, name in enumerate(EMOTIONS):
        for file in sorted((folder / name).glob("*")) if (folder / name).is_dir() else []:
            if file.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise DatasetError(f"{file}: cannot be decoded as an image")
            if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
                image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
            images.append(image)
            labels.append(label)
    if not images:
        raise DatasetError(f"{folder}: no images found under its class folders")
    return Split(split, np.stack(images), np.array(labels, dtype=np.int64))


def attach_ferplus(split: Split, votes_csv: str | Path) -> Split:
    """Add FER+ soft labels (vote fractions over the 7 FER2013 classes) to a split read by read_csv.

    Rows whose votes all fall on contempt/unknown/not-a-face keep their one-hot FER2013 label.
    """
    path = Path(votes_csv)
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = set(FERPLUS_TO_FER) - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path}: missing FER+ vote column(s) {sorted(missing)}")
        votes = np.array([[float(r[c]) for c in FERPLUS_TO_FER] for r in reader], dtype=np.float32)
    order = [FERPLUS_TO_FER[c] for c in FERPLUS_TO_FER]
    mapped = np.zeros((len(votes), NUM_EMOTIONS), np.float32)
    mapped[:, order] = votes
    rows = split.row_indices
    if rows is None or rows.max() >= len(mapped):
        raise DatasetError(f"{path}: FER+ votes are not row-aligned with the FER2013 table of this split")
    soft = mapped[rows]
    total = soft.sum(axis=1, keepdims=True)
    onehot = np.eye(NUM_EMOTIONS, dtype=np.float32)[split.labels]
    split.soft_labels = np.where(total > 0, soft / np.maximum(total, 1), onehot)
    return split


def load_split(data: str | Path, split: str) -> Split:
    """Load one split from a CSV file (``split`` = a Usage value) or a folder (``split`` = train/test)."""
    data = Path(data)
    if data.is_dir():
        return read_folder(data, split)
    splits = read_csv(data)
    if split not in splits:
        raise DatasetError(f"{data}: no rows with Usage {split!r}; present: {', '.join(sorted(splits))}")
    return splits[split]
