"""Time emotion models side by side in the node's runtime: one thread, one face per call (and a batch
of faces), the models taking turns round after round so that a busy machine slows them alike.

    python -m fer_models.latency default fast runs/other.onnx [--rounds 7] [--batch 6]

Prints one line per model: median milliseconds per face over the rounds, and the ratio to the first
model. Models are shipped names (``default``, ``fast``) or exported .onnx files.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fer_ros.core.classifiers.onnx import EmotionClassifier


def latency_ms_per_face(classifier, faces: np.ndarray, repeats: int = 200) -> float:
    """Mean milliseconds per face of ``classifier.predict(faces)`` over ``repeats`` calls, after one
    warm-up call."""
    classifier.predict(faces)
    started = time.perf_counter()
    for _ in range(repeats):
        classifier.predict(faces)
    return (time.perf_counter() - started) / repeats / len(faces) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="shipped model names (default, fast) or .onnx files")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=200, help="calls per model per round")
    parser.add_argument("--batch", type=int, default=6, help="faces per call for the batched column")
    args = parser.parse_args(argv)

    classifiers = [EmotionClassifier(model, num_threads=1) for model in args.models]
    rng = np.random.default_rng(0)
    single, batch = {}, {}
    for _ in range(args.rounds):
        for model, classifier in zip(args.models, classifiers):
            size = classifier.input_size
            faces = rng.integers(0, 256, (args.batch, size, size), dtype=np.uint8)
            single.setdefault(model, []).append(latency_ms_per_face(classifier, faces[:1], args.repeats))
            batch.setdefault(model, []).append(latency_ms_per_face(classifier, faces, max(1, args.repeats // 2)))
    first = statistics.median(single[args.models[0]])
    print(f"ONNX Runtime, one thread, median of {args.rounds} rounds of {args.repeats} calls")
    print(f"{'model':<32} {'ms/face (1)':>11} {f'ms/face ({args.batch})':>11} {'x first':>8}")
    for model, classifier in zip(args.models, classifiers):
        one = statistics.median(single[model])
        print(f"{model + ' (' + classifier.name + ')':<32} {one:>11.3f} {statistics.median(batch[model]):>11.3f} "
              f"{one / first:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
