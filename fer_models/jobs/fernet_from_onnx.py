"""Rebuild a trained Keras fernet from one of its ONNX exports (the shipped models exist only as ONNX).

    python -m fer_models.jobs.fernet_from_onnx --onnx fer_ros/models/fer_default.onnx --out teacher.keras \
        [--data fer2013.csv] [--split Training]

tf2onnx folded each batch norm into the convolution before it (kernel and bias), so every
convolution's kernel is taken as it is and its batch norm is set to add the folded bias. With
``--data`` the batch norms then get the statistics of the convolutions' outputs on those faces
(moving mean and variance, and a scale and shift that keep the inference output exactly as it was),
so that the model also behaves as trained in training mode: fit to start training from
(``--initial-weights``). A mirror-averaging (``--flip-average``) or temperature (``--temperature``)
wrapper of the export is left out: the result is the bare network. Its faithfulness is checked on
the spot against the ONNX file in ONNX Runtime.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

# Largest difference in probabilities tolerated between the rebuilt network and the ONNX export.
PARITY_TOLERANCE = 1e-4


class ConversionError(ValueError):
    """The ONNX file is not a fernet export this module understands; the message says why."""


def onnx_weights(path: str | Path) -> tuple[dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
                                             tuple[np.ndarray, np.ndarray]]:
    """The folded convolutions of a fernet export, by (output, input) channels -> (kernel OIHW, bias),
    and its classifier (kernel (features, 7), bias (7,))."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = {}
    for node in graph.node:
        if node.op_type == "Conv":
            if len(node.input) != 3 or node.input[1] not in values or node.input[2] not in values:
                raise ConversionError(f"{path}: a Conv without a constant kernel and bias; "
                                      "not a fernet export")
            kernel, bias = values[node.input[1]], values[node.input[2]]
            convs[kernel.shape[:2]] = (kernel, bias)  # the mirror branch repeats the same weights
    dense = [v for v in values.values() if v.ndim == 2 and v.shape[1] == 7]
    biases = [v for v in values.values() if v.shape == (7,)]
    if len(dense) != 1 or len(biases) != 1:
        raise ConversionError(f"{path}: expected one classifier kernel (features, 7) and one bias (7,), "
                              f"found {len(dense)} and {len(biases)}")
    return convs, (dense[0], biases[0])


def fernet_from_onnx(path: str | Path, faces: np.ndarray | None = None, dropout: float = 0.4):
    """A ``fernet`` Keras model with the weights of the ONNX export at ``path``; with ``faces``
    ``(n, 48, 48)`` its batch norms get those faces' statistics (see the module docstring)."""
    import keras

    from fer_models.architectures import fernet

    convs, (dense_kernel, dense_bias) = onnx_weights(path)
    width = dense_kernel.shape[0] // 8
    model = fernet(width, dropout=dropout)
    conv_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    norm_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    biases = []
    for conv, norm in zip(conv_layers, norm_layers):
        (expected,) = [w.shape for w in conv.get_weights()]  # (3, 3, in, out)
        key = (expected[3], expected[2])
        if key not in convs:
            raise ConversionError(f"{path}: no convolution with {key[1]} inputs and {key[0]} outputs; "
                                  f"not a fernet of width {width}")
        kernel, bias = convs[key]
        conv.set_weights([kernel.transpose(2, 3, 1, 0)])
        epsilon = norm.epsilon  # (x - 0) / sqrt(1 + eps) * sqrt(1 + eps) + bias = x + bias
        norm.set_weights([np.full_like(bias, np.sqrt(1 + epsilon)), bias,
                          np.zeros_like(bias), np.ones_like(bias)])
        biases.append(bias)
    if len(convs) != len(conv_layers):
        raise ConversionError(f"{path}: {len(convs)} distinct convolutions, fernet has {len(conv_layers)}")
    model.get_layer("probabilities").set_weights([dense_kernel, dense_bias])
    if faces is not None:
        calibrate_batch_norms(model, conv_layers, norm_layers, biases, faces)
    return model


def calibrate_batch_norms(model, conv_layers, norm_layers, biases, faces: np.ndarray) -> None:
    """Give each batch norm the mean m and variance v of its convolution's output on ``faces`` and
    the scale sqrt(v + eps) and shift m + bias, which leave the inference output unchanged."""
    import keras

    probe = keras.Model(model.inputs, [conv.output for conv in conv_layers])
    outputs = probe.predict(faces[..., None].astype(np.float32), batch_size=256, verbose=0)
    for output, norm, bias in zip(outputs, norm_layers, biases):
        mean = output.mean(axis=(0, 1, 2)).astype(np.float32)
        variance = output.var(axis=(0, 1, 2)).astype(np.float32)
        scale = np.sqrt(variance + norm.epsilon).astype(np.float32)
        norm.set_weights([scale, mean + bias, mean, variance])


def onnx_probabilities(path: str | Path, faces: np.ndarray) -> np.ndarray:
    """The ONNX export's probabilities for ``faces`` ``(n, 48, 48)``, run in ONNX Runtime as it is
    (its sidecar and checksum are not needed)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: faces[..., None].astype(np.float32)})[0]


def keras_probabilities(model, faces: np.ndarray, flip_average: bool = False,
                        temperature: float = 1.0) -> np.ndarray:
    """``model``'s probabilities for ``faces``, mirror-averaged and rescaled by ``temperature`` as the
    export wrappers do, so that they can be compared with an export."""
    from fer_models.evaluate import rescale

    x = faces[..., None].astype(np.float32)
    probabilities = model.predict(x, batch_size=256, verbose=0)
    if flip_average:
        probabilities = (probabilities + model.predict(x[:, :, ::-1], batch_size=256, verbose=0)) / 2
    return rescale(probabilities, temperature) if temperature != 1.0 else probabilities


def parity(model, path: str | Path, faces: np.ndarray) -> float:
    """Largest difference between the rebuilt ``model`` and the export at ``path`` on ``faces``, the
    export's mirror averaging and temperature (read from its sidecar) applied to the model."""
    import json

    sidecar = Path(path).with_suffix(".json")
    spec = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    flip = str(spec.get("name", "")).endswith("_flipavg")
    expected = onnx_probabilities(path, faces)
    got = keras_probabilities(model, faces, flip, float(spec.get("temperature", 1.0)))
    return float(np.abs(expected - got).max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.jobs.fernet_from_onnx",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", required=True, help="a fernet export, e.g. fer_ros/models/fer_default.onnx")
    parser.add_argument("--out", required=True, help="the .keras file to write")
    parser.add_argument("--data", help="fer2013.csv[.gz]: batch norm statistics from these faces")
    parser.add_argument("--split", default="Training")
    parser.add_argument("--samples", type=int, default=4096, help="faces for the statistics and the check")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    faces = None
    if args.data:
        from fer_models.data import load_split

        faces = load_split(args.data, args.split).images[: args.samples]
    model = fernet_from_onnx(args.onnx, faces)
    check = faces if faces is not None else np.random.default_rng(0).integers(0, 256, (64, 48, 48), np.uint8)
    difference = parity(model, args.onnx, check[:512])
    model.save(args.out)
    print(f"{args.out}: {model.name}, {model.count_params():,} parameters; largest difference from "
          f"{args.onnx}: {difference:.1e}")
    if difference > PARITY_TOLERANCE:
        print(f"parity check FAILED: {difference:.1e} > {PARITY_TOLERANCE:.0e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
