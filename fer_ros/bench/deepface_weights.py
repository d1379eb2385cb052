"""A stand-in for DeepFace's emotion weights file, with random weights, for timing DeepFace.

DeepFace's real ``facial_expression_model_weights.h5`` is never downloaded here: the benchmark times
DeepFace on an architecture-identical file with random weights (its emotions mean nothing), and the
tests of the ``deepface`` classifier backend load the same file.

    python -m fer_ros.bench.deepface_weights FOLDER   # writes FOLDER/.deepface/weights/<file>
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fer_ros.core.classifiers.deepface import WEIGHTS_FILE, build_model


def save_weights_h5(model, path: str | Path) -> None:
    """Write ``model``'s weights in the layout of DeepFace's ``.h5``, Keras 2's ``save_weights``: the
    layer names as a file attribute and one group per layer holding its weights in order (named in the
    group's ``weight_names``). Keras 3's own ``save_weights`` only writes ``*.weights.h5``, a different
    layout, so the file is written with h5py; both Keras 3 and tf-keras ``load_weights`` read it."""
    import h5py
    import keras

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
        f.attrs["backend"] = keras.backend.backend().encode("utf8")
        f.attrs["keras_version"] = keras.__version__.encode("utf8")
        # Groups in name order, as Keras writes them (its loader follows layer_names).
        for layer in sorted(model.layers, key=lambda layer: layer.name):
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            group.attrs["weight_names"] = [str(w.path).encode("utf8") for w in weights]
            for weight in weights:
                group.create_dataset(str(weight.path), data=keras.ops.convert_to_numpy(weight))
        # Keras also writes the model's own weights (none for a Sequential of layers).
        f.create_group("top_level_model_weights").attrs["weight_names"] = []


def write_random_weights(path: str | Path, seed: int = 0):
    """Write an architecture-identical stand-in for DeepFace's weights file with random weights
    (tests and timing only: its predictions mean nothing) to ``path``; returns the Keras model."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(keras)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_weights_h5(model, path)
    return model


def deepface_home_weights(home: str | Path) -> Path:
    """Where DeepFace looks for the file when DEEPFACE_HOME is ``home``."""
    return Path(home) / ".deepface" / "weights" / WEIGHTS_FILE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.deepface_weights",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("home", help="the DEEPFACE_HOME to write .deepface/weights/ under")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_random_weights(deepface_home_weights(args.home), seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
