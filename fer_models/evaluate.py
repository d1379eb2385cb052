"""Evaluate an exported model on a FER2013 split through the node's own classifier runtime.

    python -m fer_models.evaluate --data fer2013.csv.gz --split PublicTest [--model M.onnx] [--json]

Without --model it evaluates the shipped default model. Prints accuracy, macro-F1, per-class
precision/recall/F1, the confusion matrix, calibration error and latency per face.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np

from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS
from fer_models.latency import latency_ms_per_face


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    matrix = np.zeros((NUM_EMOTIONS, NUM_EMOTIONS), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_metrics(matrix: np.ndarray) -> dict[str, dict[str, float]]:
    metrics = {}
    for i, name in enumerate(EMOTIONS):
        tp = matrix[i, i]
        precision = tp / matrix[:, i].sum() if matrix[:, i].sum() else 0.0
        recall = tp / matrix[i].sum() if matrix[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[name] = {"precision": round(float(precision), 4), "recall": round(float(recall), 4),
                         "f1": round(float(f1), 4), "support": int(matrix[i].sum())}
    return metrics


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the negative log-likelihood of softmax(log p / T) (grid search)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.linspace(0.5, 3.0, 51):
        scaled = rescale(probabilities, t)
        nll = -np.log(np.clip(scaled[np.arange(len(labels)), labels], 1e-12, 1)).mean()
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def rescale(probabilities: np.ndarray, temperature: float, floor: float = 1e-12) -> np.ndarray:
    """softmax(log p / T): probabilities sharpened (T < 1) or softened (T > 1), the ranking kept;
    ``p`` is clipped to ``floor`` first."""
    scaled = np.exp(np.log(np.clip(probabilities, floor, 1)) / temperature)
    return scaled / scaled.sum(axis=1, keepdims=True)


def predict_all(classifier: EmotionClassifier, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([classifier.predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)])


def evaluate(classifier: EmotionClassifier, images: np.ndarray, labels: np.ndarray,
             probabilities: np.ndarray | None = None) -> dict:
    if probabilities is None:
        probabilities = predict_all(classifier, images)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    per_class = per_class_metrics(matrix)
    temperature = fit_temperature(probabilities, labels)
    latency_ms = statistics.median(latency_ms_per_face(classifier, images[:1]) for _ in range(5))  # steadier
    return {
        "model": classifier.name,
        "n": int(len(labels)),
        "accuracy": round(float((predicted == labels).mean()), 4),
        "macro_f1": round(float(np.mean([m["f1"] for m in per_class.values()])), 4),
        "per_class": per_class,
        "confusion_matrix": {"labels": list(EMOTIONS), "rows_true_cols_predicted": matrix.tolist()},
        "ece": round(expected_calibration_error(probabilities, labels), 4),
        "temperature": round(temperature, 3),
        "ece_after_temperature": round(expected_calibration_error(rescale(probabilities, temperature), labels), 4),
        "latency_ms_per_face_1_thread": round(latency_ms, 3),
    }


def format_report(result: dict) -> str:
    lines = [f"{result['model']}: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f} "
             f"on {result['n']} faces",
             f"{'class':>9} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}"]
    for name, m in result["per_class"].items():
        lines.append(f"{name:>9} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:7d}")
    lines.append("confusion matrix (rows: true, columns: predicted) " + " ".join(EMOTIONS))
    for name, row in zip(EMOTIONS, result["confusion_matrix"]["rows_true_cols_predicted"]):
        lines.append(f"{name:>9} " + " ".join(f"{v:5d}" for v in row))
    lines.append(f"ECE {result['ece']:.4f} -> {result['ece_after_temperature']:.4f} at T={result['temperature']}; "
                 f"latency {result['latency_ms_per_face_1_thread']:.3f} ms per face (1 thread)")
    return "\n".join(lines)


def main(argv=None) -> int:
    from fer_models.data import load_split

    parser = argparse.ArgumentParser(prog="python -m fer_models.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="fer2013.csv[.gz] or a folder with train/ and test/")
    parser.add_argument("--split", required=True, help="a Usage value of the CSV (e.g. PublicTest) or train/test")
    parser.add_argument("--model", help="exported .onnx with its .json sidecar (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N rows")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--figures", help="folder for confusion_matrix.png and misclassified.png")
    args = parser.parse_args(argv)

    split = load_split(args.data, args.split)
    images, labels = split.images, split.labels
    if args.limit:
        images, labels = images[: args.limit], labels[: args.limit]
    classifier = EmotionClassifier(args.model)
    probabilities = predict_all(classifier, images)
    result = evaluate(classifier, images, labels, probabilities)
    result["split"] = args.split
    if args.figures:
        from pathlib import Path

        from fer_models.report import plot_confusion, plot_misclassified

        figures = Path(args.figures)
        figures.mkdir(parents=True, exist_ok=True)
        matrix = np.array(result["confusion_matrix"]["rows_true_cols_predicted"])
        plot_confusion(matrix, figures / "confusion_matrix.png", f"{classifier.name} on {args.split}")
        plot_misclassified(images, labels, probabilities.argmax(axis=1), figures / "misclassified.png")
    print(json.dumps(result) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
