"""Export a trained Keras model to ONNX for the node, with its sidecar and a parity check.

    python -m fer_models.export --model runs/fernet/best.keras --out fer_ros/models/fer_default.onnx

Writes ``OUT`` (ONNX) and ``OUT.json`` (sidecar: input size, colour, value range, label order,
SHA-256), then runs both models on the same faces and prints the maximum absolute difference.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.sidecar import write_sidecar

PARITY_TOLERANCE = 1e-4


def export_onnx(keras_model, out: Path) -> None:
    """Convert ``keras_model`` to ONNX at ``out`` with a dynamic batch dimension."""
    import tensorflow as tf
    import tf2onnx

    height, width, channels = keras_model.input_shape[1:]
    signature = [tf.TensorSpec((None, height, width, channels), tf.float32, name="face")]

    @tf.function(input_signature=signature)
    def serve(face):
        return {"probabilities": keras_model(face, training=False)}

    tf2onnx.convert.from_function(serve, input_signature=signature, opset=17, output_path=str(out))


def with_flip_average(model):
    """``model`` wrapped to average its output on the face and on its mirror image (test-time
    augmentation): one ONNX graph, both passes in one call."""
    import keras

    inputs = keras.Input(model.input_shape[1:], name="face")
    mirrored = keras.layers.Lambda(lambda x: keras.ops.flip(x, axis=2), name="mirror")(inputs)
    averaged = keras.layers.Average(name="probabilities")([model(inputs), model(mirrored)])
    return keras.Model(inputs, averaged, name=f"{model.name}_flipavg")


def with_temperature(model, temperature: float):
    """``model`` wrapped to rescale its probabilities by ``temperature``: softmax(log p / T), the
    calibration that ``fer_models.evaluate`` fits (its ``temperature``). T < 1 sharpens, T > 1 softens;
    the most likely emotion never changes."""
    import keras

    inputs = keras.Input(model.input_shape[1:], name="face")
    log_probabilities = keras.ops.log(keras.ops.clip(model(inputs), 1e-12, 1.0))
    scaled = keras.layers.Softmax(name="probabilities")(log_probabilities / temperature)
    return keras.Model(inputs, scaled, name=model.name)


def parity(keras_model, onnx_path: Path, faces: np.ndarray) -> float:
    """Maximum absolute difference of the two models' probabilities on ``faces`` (n, 48, 48) uint8."""
    expected = keras_model.predict(faces[..., None].astype(np.float32), verbose=0)
    got = EmotionClassifier(onnx_path).predict(faces)
    return float(np.abs(expected - got).max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="trained Keras model (.keras)")
    parser.add_argument("--out", required=True, help="ONNX file to write; the sidecar goes beside it")
    parser.add_argument("--data", help="fer2013.csv[.gz] to draw parity faces from (default: random faces)")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--parity-samples", type=int, default=256)
    parser.add_argument("--flip-average", action="store_true",
                        help="average the predictions for the face and its mirror image (slower, usually more accurate)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="calibrate the output probabilities by this temperature, as fitted by "
                             "python -m fer_models.evaluate (its 'temperature'); 1 leaves them as trained")
    args = parser.parse_args(argv)
    if args.temperature <= 0:
        parser.error(f"--temperature must be positive, got {args.temperature}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    model = keras.models.load_model(args.model)
    if args.flip_average:
        model = with_flip_average(model)
    if args.temperature != 1.0:
        model = with_temperature(model, args.temperature)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out)
    input_size = int(model.input_shape[1])
    extra = {"parameters": int(model.count_params())}
    if args.temperature != 1.0:
        extra["temperature"] = args.temperature
    write_sidecar(out, model.name, input_size, extra)

    if args.data:
        from fer_models.data import load_split

        faces = load_split(args.data, args.split).images[: args.parity_samples]
    else:
        faces = np.random.default_rng(0).integers(0, 256, (args.parity_samples, input_size, input_size),
                                                   dtype=np.uint8)
    return report_parity({"onnx": str(out), "bytes": out.stat().st_size, "parity_samples": len(faces)},
                         parity(model, out, faces), PARITY_TOLERANCE)


def report_parity(summary: dict, difference: float, tolerance: float) -> int:
    """Print ``summary`` with the parity ``difference`` as one JSON line; exit code 1 above ``tolerance``."""
    print(json.dumps({**summary, "max_abs_difference": difference}))
    if difference > tolerance:
        print(f"parity check FAILED: difference {difference:.2e} > {tolerance:.0e}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
