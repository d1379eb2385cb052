"""Startup time and memory of the node's runtime (ONNX Runtime) against TensorFlow/Keras.

    python -m fer_models.compare_runtimes --keras runs/fernet/best.keras [--onnx MODEL.onnx]

Each runtime runs in a fresh process that imports its library, loads the model and classifies one
face; the script prints seconds to the first result and peak resident memory, with the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PROBE = r"""
import json, resource, sys, time
started = time.perf_counter()
import numpy as np
face = np.full((1, 48, 48), 128, np.uint8)
if sys.argv[1] == "onnx":
    from fer_ros.core.classifiers.onnx import EmotionClassifier
    EmotionClassifier(sys.argv[2] or None).predict(face)
else:
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    keras.models.load_model(sys.argv[2]).predict(face[..., None].astype("float32"), verbose=0)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds_to_first_result": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def probe(kind: str, model: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", PROBE, kind, model], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds_to_first_result"])  # least disturbed run
    return {k: round(v, 3) for k, v in best.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.compare_runtimes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keras", required=True, help="the trained Keras model (.keras)")
    parser.add_argument("--onnx", default="", help="its ONNX export (default: the shipped model)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    onnx = probe("onnx", args.onnx, args.repeats)
    tf = probe("keras", args.keras, args.repeats)
    result = {"onnxruntime": onnx, "tensorflow_keras": tf,
              "startup_ratio_tf_over_onnx": round(tf["seconds_to_first_result"] / onnx["seconds_to_first_result"], 1),
              "memory_ratio_tf_over_onnx": round(tf["peak_rss_mb"] / onnx["peak_rss_mb"], 1)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
