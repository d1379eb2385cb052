"""Figures about the data and a model, written as PNG files (matplotlib, no display needed).

    python -m fer_models.report --data fer2013.csv.gz --out reports/

writes the class distribution of every split and a grid of example faces per class (the thesis'
"plot all emotions" and "plot examples"). ``fer_models.evaluate --figures DIR`` uses the same module
for the confusion matrix and the gallery of misclassified faces.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS  # noqa: E402


def plot_class_distribution(splits: dict, path: Path) -> Path:
    figure, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(splits)
    for i, (name, split) in enumerate(splits.items()):
        counts = np.bincount(split.labels, minlength=NUM_EMOTIONS)
        bars = ax.bar(np.arange(NUM_EMOTIONS) + i * width, counts, width, label=f"{name} ({len(split)})")
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(np.arange(NUM_EMOTIONS) + width * (len(splits) - 1) / 2, EMOTIONS)
    ax.set_ylabel("faces")
    ax.set_title("FER2013 class distribution")
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_examples(images: np.ndarray, labels: np.ndarray, path: Path, per_class: int = 8, seed: int = 0,
                  titles: list[str] | None = None) -> Path:
    """A grid with one row per class and ``per_class`` random faces of it."""
    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(NUM_EMOTIONS, per_class, figsize=(per_class * 1.1, NUM_EMOTIONS * 1.2))
    for row, name in enumerate(EMOTIONS):
        members = np.flatnonzero(labels == row)
        chosen = rng.choice(members, min(per_class, len(members)), replace=False) if len(members) else []
        for col in range(per_class):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(chosen):
                ax.imshow(images[chosen[col]], cmap="gray", vmin=0, vmax=255)
                if titles is not None:
                    ax.set_title(titles[chosen[col]], fontsize=6)
        axes[row, 0].text(-8, 24, name, ha="right", va="center", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_confusion(matrix: np.ndarray, path: Path, title: str = "") -> Path:
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(NUM_EMOTIONS):
        for j in range(NUM_EMOTIONS):
            ax.text(j, i, f"{matrix[i, j]}\n{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_xticks(range(NUM_EMOTIONS), EMOTIONS, rotation=45)
    ax.set_yticks(range(NUM_EMOTIONS), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_misclassified(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, path: Path,
                       per_class: int = 8) -> Path:
    """Per true class, random faces the model got wrong, titled with the predicted label."""
    wrong = np.flatnonzero(labels != predicted)
    titles = [""] * len(labels)
    for i in wrong:
        titles[i] = f"-> {EMOTIONS[predicted[i]]}"
    return plot_examples(images[wrong], labels[wrong], path, per_class, titles=[titles[i] for i in wrong])


def main(argv=None) -> int:
    from fer_models.data import load_split, read_csv

    parser = argparse.ArgumentParser(prog="python -m fer_models.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.csv[.gz] or a folder with train/ and test/")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    parser.add_argument("--per-class", type=int, default=8)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    splits = read_csv(data) if data.is_file() else {s: load_split(data, s) for s in ("train", "test")
                                                      if (data / s).is_dir()}
    for split in splits.values():
        print(f"{split.name}: {len(split)} faces, {split.class_counts()}")
    print(plot_class_distribution(splits, out / "class_distribution.png"))
    for name, split in splits.items():
        print(plot_examples(split.images, split.labels, out / f"examples_{name}.png", args.per_class))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
