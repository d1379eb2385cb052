"""Write MODEL_CARD.md for an exported model from its training run and its evaluation.

    python -m fer_models.model_card --run runs/fernet_w32 --onnx fer_ros/models/fer_default.onnx \
        --evaluation eval.json [--runtimes runtimes.json] [--log runs/fernet_w32.log]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

from fer_ros.core.emotions import EMOTIONS

DEFAULT_ROLE = "The default emotion model of fer_ros"


def training_command(args: dict) -> str:
    """The command that reproduces the run, every setting spelled out (defaults may change)."""
    parts = ["python -m fer_models.train"]
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        unused = ((key == "ferplus_mix" and not args.get("ferplus"))
                  or (key.startswith("teacher_") and not args.get("teacher"))
                  or (key == "framing_mix" and not args.get("framings")))
        if value is None or value is False or value == [] or unused:
            continue
        if isinstance(value, list):
            value = " ".join(map(str, value))
        parts.append(flag if value is True else f"{flag} {value}")
    return " \\\n    ".join(parts)


def architecture_summary(args: dict) -> str:
    """' (width 16): four stages of ...' for fernet; the run's other settings are in its command."""
    if args["arch"] != "fernet":
        return "."
    return (f" (width {args['width']}): four stages of two 3x3 conv + batch norm + ReLU, 2x2 max pooling, "
            f"global average pooling, dropout {args.get('dropout', 0.4):g}, dense softmax over 7 classes.")


def epoch_history(run: Path) -> list[dict]:
    with open(run / "history.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["epoch"] != "epoch"]
    by_epoch = {int(r["epoch"]): r for r in rows}  # a resumed run may log an epoch twice: keep the last
    return [by_epoch[e] for e in sorted(by_epoch)]


def epoch_seconds(log: Path | None) -> list[int]:
    if log is None or not log.exists():
        return []
    return [int(m) for m in re.findall(r"^\d+/\d+ - (\d+)s", log.read_text(), flags=re.M)]


def confusions(evaluation: dict, name: str) -> str:
    """'fear (recall 0.22; most often taken for surprise, angry)'."""
    row = evaluation["confusion_matrix"]["rows_true_cols_predicted"][EMOTIONS.index(name)]
    others = sorted((count, EMOTIONS[j]) for j, count in enumerate(row) if EMOTIONS[j] != name)[::-1][:2]
    recall = evaluation["per_class"][name]["recall"]
    return f"{name} (recall {recall:.2f}; most often taken for {others[0][1]}, {others[1][1]})"


def lineage(args: dict, initial_run: Path | None) -> list[str]:
    """Card lines for where the run's targets and starting weights came from (distillation,
    ``--initial-weights``), with the starting run's own command when its folder is given."""
    lines = []
    if args.get("framings"):
        lines.append(
            f"- Detector framings (`--framings`): with probability {args['framing_mix']:g}, a Training face was "
            "first cut again at the square the pipeline cropped it at when one of these detectors (drawn at "
            "random) found it placed in a camera frame, so that the model learns each label from the crops "
            "it gets through a detector, not from FER2013's own framing alone"
            + ("; the teacher saw each face as FER2013 framed it" if args.get("teacher") else "")
            + "; the files were written by "
            "`python -m fer_models.detector_framings` (docs/training.md): "
            + ", ".join(f"`{path}`" for path in args["framings"]) + ".")
    if args.get("teacher"):
        lines.append(
            f"- Distillation: each target is {1 - args['teacher_mix']:g} x the (smoothed) label + "
            f"{args['teacher_mix']:g} x the teacher's probabilities (mean over the face and its mirror image, "
            f"softened at temperature {args['teacher_temperature']:g}), the teacher being `{args['teacher']}`; "
            + ("computed on every augmented batch (`--teacher-online`)." if args.get("teacher_online")
               else "computed once on the unaugmented training faces."))
    if args.get("initial_weights"):
        lines.append(f"- Started from the trained weights `{args['initial_weights']}` (`--initial-weights`)"
                     + (", the best epoch of this earlier run:" if initial_run else "."))
        if initial_run:
            earlier = json.loads((initial_run / "args.json").read_text())
            lines += ["```", training_command(earlier), "```",
                      f"  which ran {len(epoch_history(initial_run))} epochs (history in its run folder)."]
    return lines


def render(run: Path, onnx: Path, evaluation: dict, runtimes: dict | None, log: Path | None,
           hardware: str, notes: list[str], role: str = DEFAULT_ROLE, initial_run: Path | None = None) -> str:
    args = json.loads((run / "args.json").read_text())
    spec = json.loads(onnx.with_suffix(".json").read_text())
    history = epoch_history(run)
    best = max(history, key=lambda r: float(r["val_accuracy"]))
    seconds = epoch_seconds(log)
    per_class = evaluation["per_class"]
    weakest = sorted(per_class, key=lambda c: per_class[c]["recall"])[:3]
    lines = [
        f"# Model card: {spec['name']}",
        "",
        f"{role}, trained by this project. Generated by "
        "`python -m fer_models.model_card` from the training run and `python -m fer_models.evaluate`.",
        "",
        "## Model",
        f"- Architecture: `fer_models.architectures.{args['arch']}`" + architecture_summary(args),
        f"- Parameters: {format(spec['parameters'], ',') if 'parameters' in spec else 'n/a'}; "
        f"ONNX file: `{onnx.name}`, "
        f"{onnx.stat().st_size / 1e6:.2f} MB, SHA-256 `{spec['sha256']}`.",
        f"- Input: {spec['input_size']}x{spec['input_size']} grey face crop, values 0..255 (scaled inside the "
        "network); the node cuts each face's square as FER2013 framed its faces (fer_ros.core.framing: the "
        "detector's box mapped by its calibration, turned upright by the eye line where the detector gives "
        "one, the image's edge repeated past its border), in grey, area-averaged to that size.",
        f"- Output: probabilities in the order {', '.join(spec['labels'])}.",
        f"- Runtime: ONNX Runtime (exported with tf2onnx, opset 17; parity with Keras checked at export)."
        + (" Exported with `--flip-average`: the graph runs the network on the face and on its mirror "
           "image and averages the two (twice the work per face)." if spec["name"].endswith("_flipavg") else "")
        + (f" Probabilities calibrated at export (`--temperature {spec['temperature']:g}`: softmax(log p / T), "
           "T fitted on PublicTest by `fer_models.evaluate`)." if spec.get("temperature") else ""),
        "",
        "## Training",
        "```",
        training_command(args),
        "```",
        "- Data: FER2013 `Training` rows (28,709 faces) of the Kaggle `fer2013.csv` layout "
        "(`../shared/data/fer2013/fer2013.csv.gz`, see its SOURCES.md). Validation, checkpoint selection "
        "and early stopping on `PublicTest` (3,589 faces). `PrivateTest` was never used.",
        f"- Epochs run: {len(history)} of {args['epochs']}"
        + (f" (`--time-budget {args['time_budget']:g}` s planned the cosine schedule to fit; the learning "
           "rate of each epoch is in the run's history.csv)" if args.get("time_budget") else "")
        + f"; best PublicTest accuracy at epoch {int(best['epoch']) + 1}. Seed {args['seed']}.",
        "- Augmentation (OpenCV, on the host): horizontal flip, rotation ±14.4°, translation ±10%, "
        "zoom ±15%, contrast ±30%"
        + (f"; random erasing with probability {args['random_erasing']} (one rectangle of noise, 2-25% of "
           "the face)" if args.get("random_erasing") else "") + ". "
        f"Label smoothing {args['label_smoothing']}; class weights (n_max/n_c)^{args['class_weight_power']}; "
        f"AdamW, peak learning rate {args['lr']}, weight decay {args['weight_decay']}, "
        f"{args['warmup_epochs']} warm-up epoch(s) then cosine decay; batch {args['batch_size']}.",
    ]
    lines += lineage(args, initial_run)
    if seconds:
        lines.append(f"- Wall time: {sum(seconds) / 60:.1f} min for {len(seconds)} epochs "
                     f"({sum(seconds) / len(seconds):.0f} s per epoch) on {hardware}.")
    lines += [f"- {note}" for note in notes]
    lines += [
        "",
        "## PublicTest results",
        "Measured with `python -m fer_models.evaluate --data ../shared/data/fer2013/fer2013.csv.gz "
        f"--split PublicTest{'' if onnx.name == 'fer_default.onnx' else ' --model ' + str(onnx)} --json` (the "
        "node's own classifier code). PublicTest also chose the "
        "checkpoint, so these numbers are slightly optimistic for unseen data.",
        "",
        f"- Accuracy: **{evaluation['accuracy']:.4f}** on {evaluation['n']} faces; macro-F1 "
        f"{evaluation['macro_f1']:.4f}.",
        f"- Calibration: expected calibration error {evaluation['ece']:.4f}; after temperature scaling "
        f"(T={evaluation['temperature']}) {evaluation['ece_after_temperature']:.4f}.",
        f"- Latency: {evaluation['latency_ms_per_face_1_thread']:.2f} ms per face, batch of 1, one thread.",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for name in EMOTIONS:
        m = per_class[name]
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| | " + " | ".join(EMOTIONS) + " |", "|---" * (len(EMOTIONS) + 1) + "|"]
    for name, row in zip(EMOTIONS, evaluation["confusion_matrix"]["rows_true_cols_predicted"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    if runtimes:
        lines += ["", "## Runtime (`python -m fer_models.compare_runtimes`)", "",
                  "| runtime | seconds to first result | peak memory (MB) |", "|---|---|---|",
                  f"| ONNX Runtime | {runtimes['onnxruntime']['seconds_to_first_result']:.2f} | "
                  f"{runtimes['onnxruntime']['peak_rss_mb']:.0f} |",
                  f"| TensorFlow/Keras | {runtimes['tensorflow_keras']['seconds_to_first_result']:.2f} | "
                  f"{runtimes['tensorflow_keras']['peak_rss_mb']:.0f} |"]
    lines += [
        "",
        "## Known weaknesses",
        "- Lowest recall: " + "; ".join(confusions(evaluation, c) for c in weakest)
        + ". Do not act on these labels alone.",
        "- FER2013 is 48x48 grey web images of mostly frontal, posed or exaggerated faces; side views, "
        "low light, masks, glasses glare and small faces degrade results. Its labels are noisy (human "
        "agreement is about 65%).",
        "- The data set's demographic balance is undocumented; accuracy across age, gender and skin "
        "tone has not been measured. Treat outputs as a weak signal about a displayed expression, "
        "not a person's inner state, and ask for consent before analysing people.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_models.model_card", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="training run folder (args.json, history.csv)")
    parser.add_argument("--onnx", required=True, help="exported model; the card goes beside it")
    parser.add_argument("--evaluation", required=True, help="JSON printed by fer_models.evaluate --json")
    parser.add_argument("--runtimes", help="JSON printed by fer_models.compare_runtimes")
    parser.add_argument("--log", help="training log (for wall time per epoch)")
    parser.add_argument("--hardware", default="2 CPU cores, no GPU, while other work shared the machine",
                        help="what the model was trained on, for the wall-time line")
    parser.add_argument("--note", action="append", default=[], help="an extra line for the Training section")
    parser.add_argument("--card", default="MODEL_CARD.md", help="file name of the card, beside the model")
    parser.add_argument("--role", default=DEFAULT_ROLE, help="the card's opening words: what the model is for")
    parser.add_argument("--initial-run", help="run folder of the weights the run started from "
                        "(--initial-weights), to show its command")
    args = parser.parse_args(argv)
    onnx = Path(args.onnx)
    text = render(Path(args.run), onnx, json.loads(Path(args.evaluation).read_text()),
                  json.loads(Path(args.runtimes).read_text()) if args.runtimes else None,
                  Path(args.log) if args.log else None, args.hardware, args.note, args.role,
                  Path(args.initial_run) if args.initial_run else None)
    card = onnx.parent / args.card
    card.write_text(text)
    print(f"wrote {card}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
