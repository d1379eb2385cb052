"""Cut the single pass out of a mirror-averaged ONNX export, for video.

    python -m fer_models.single_pass fer_ros/models/fer_default.onnx fer_ros/models/fer_default_single.onnx

A model exported with ``--flip-average`` classifies the face and its mirror image in one graph and
averages: twice the cost of one pass. In video the pipeline classifies each tracked face once per
frame instead, the face on one frame and its mirror image on the next, and the temporal smoothing
averages them (fer_ros.core.pipeline). This writes the graph of the unmirrored branch alone (same
weights, no retraining) with its sidecar, records its file name in the averaged model's sidecar
(``single_pass``), and checks that the mean of the single pass on the faces and on their mirror
images equals the averaged model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fer_models.export import report_parity
from fer_ros.core.classifiers.onnx import EmotionClassifier
from fer_ros.core.sidecar import ModelSpec, read_fields, sidecar_path, update_sidecar, write_sidecar

PARITY_TOLERANCE = 1e-5


def branch_outputs(graph) -> list[str]:
    """The two tensors the averaged graph adds (each a branch's probabilities), the unmirrored
    branch first: the one with fewer nodes above it (the mirrored one adds the flip)."""
    producers = {output: node for node in graph.node for output in node.output}
    final = producers[graph.output[0].name]
    add = final if final.op_type == "Add" else producers[final.input[0]]
    if add.op_type != "Add" or len(add.input) != 2:
        raise ValueError("not a mirror-averaged export (python -m fer_models.export --flip-average)")

    def ancestors(tensor: str) -> int:
        seen, stack = set(), [tensor]
        while stack:
            node = producers.get(stack.pop())
            if node is not None and node.name not in seen:
                seen.add(node.name)
                stack.extend(node.input)
        return len(seen)

    return sorted(add.input, key=ancestors)


def cut(averaged: Path, out: Path) -> None:
    import onnx
    import onnx.utils

    model = onnx.load(str(averaged))
    face = model.graph.input[0].name
    onnx.utils.extract_model(str(averaged), str(out), [face], [branch_outputs(model.graph)[0]])
    single = onnx.load(str(out))
    single.graph.output[0].name = "probabilities"  # rename the output and its producer's tensor
    for node in single.graph.node:
        node.output[:] = ["probabilities" if o == branch_outputs(model.graph)[0] else o for o in node.output]
    onnx.save(single, str(out))


def parity(averaged: Path, single: Path, faces: np.ndarray) -> float:
    """Largest difference between the averaged model and the mean of the single pass on ``faces``
    and on their mirror images."""
    both = EmotionClassifier(averaged).predict(faces)
    one = EmotionClassifier(single)
    mean = (one.predict(faces) + one.predict(faces[:, :, ::-1].copy())) / 2
    return float(np.abs(both - mean).max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.single_pass", description=__doc__.split("\n\n")[0])
    parser.add_argument("averaged", type=Path, help="a mirror-averaged export (.onnx with its sidecar)")
    parser.add_argument("out", type=Path, help="the single-pass .onnx to write; its sidecar goes beside it")
    args = parser.parse_args(argv)
    spec = ModelSpec.from_file(sidecar_path(args.averaged))
    cut(args.averaged, args.out)
    extra = {k: v for k, v in read_fields(args.averaged).items() if k == "parameters"}
    write_sidecar(args.out, spec.name.removesuffix("_flipavg"), spec.input_size,
                  {**extra, "single_pass_of": args.averaged.name})
    update_sidecar(args.averaged, single_pass=args.out.name)
    faces = np.random.default_rng(0).integers(0, 256, (64, spec.input_size, spec.input_size), dtype=np.uint8)
    return report_parity({"single_pass": str(args.out), "bytes": args.out.stat().st_size},
                         parity(args.averaged, args.out, faces), PARITY_TOLERANCE)


if __name__ == "__main__":
    raise SystemExit(main())
