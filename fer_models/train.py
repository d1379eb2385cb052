"""Train an emotion model on FER2013, validating (and choosing the best epoch) on PublicTest.

With no flags this is the recipe of the shipped ``default`` model (fer_ros/models/MODEL_CARD.md):
fernet width 32, 64 epochs, AdamW at a peak learning rate of 0.003 with cosine decay, random erasing,
seed 1337, reading the Kaggle FER2013 CSV from ../shared and writing the run to runs/default:

    python -m fer_models.train

(the card's run was ``--epochs 300 --time-budget 420`` on one GPU, which planned those 64 epochs; with
``--epochs 64`` the schedule is nearly the same on any machine.) Any hyperparameter below is a flag,
e.g. ``--data fer2013.csv.gz --out runs/w24 --width 24``. The shipped ``fast`` model is width 16 in two
stages, the second continuing the first with ``default`` as online teacher (MODEL_CARD_fast.md):

    python -m fer_models.train --width 16 --epochs 67 --out runs/w16
    python -m fer_models.jobs.fernet_from_onnx --onnx fer_ros/models/fer_default.onnx --out runs/teacher.keras
    python -m fer_models.train --width 16 --epochs 66 --out runs/fast --initial-weights runs/w16/best.keras \\
        --teacher runs/teacher.keras --lr 0.001 --warmup-epochs 1

Every epoch writes a resumable backup to ``OUT/backup`` and the best model (by PublicTest accuracy) to
``OUT/best.keras``; running the same command again resumes where it stopped, and a larger ``--epochs``
continues a finished run. The code uses Keras 3 alone, so it runs on any Keras backend: TensorFlow by
default, or JAX/PyTorch on a GPU box (``KERAS_BACKEND=jax``). Export the result with
``python -m fer_models.export`` and measure it with ``python -m fer_models.evaluate``.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from fer_models.evaluate import rescale
from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS

# --- Hyperparameters: the recipe of the shipped `default` model (each one is also a flag) ----------
DATA = "../shared/data/fer2013/fer2013.csv.gz"  # Kaggle fer2013.csv[.gz], or a folder of train/ test/
OUT = "runs/default"          # run folder: backup, best.keras, history.csv, args.json, summary.json
TRAIN_SPLIT = "Training"      # a Usage value of the CSV, or a folder name
VAL_SPLIT = "PublicTest"      # chooses the best epoch (PrivateTest is never used)
ARCH = "fernet"               # fer_models.architectures: fernet, baseline or mobilenet_v2
WIDTH = 32                    # fernet: channels of the first stage (`fast` is 16)
DROPOUT = 0.4                 # fernet: dropout before the classifier
EPOCHS = 64                   # the cosine schedule reaches zero at the last one
BATCH_SIZE = 128
LEARNING_RATE = 3e-3          # AdamW's peak, after WARMUP_EPOCHS of linear warm-up; then cosine decay
WARMUP_EPOCHS = 3
WEIGHT_DECAY = 0.01           # AdamW's decoupled weight decay
LABEL_SMOOTHING = 0.1
CLASS_WEIGHT_POWER = 0.3      # class weight (n_max / n_class) ** power; 0: no class weighting
PATIENCE = 0                  # stop after this many epochs without a better val accuracy; 0: never
TIME_BUDGET = 0.0             # seconds: fewer epochs (and a shorter schedule) to fit; 0: no limit
SEED = 1337
# Augmentation of each training face (on the host, OpenCV): random mirror, and
ROTATION_DEGREES = 14.4       # rotation up to +-14.4 degrees
ZOOM = 0.15                   # scale 1 +- 0.15
SHIFT = 0.1                   # translation up to +-10% of the size
CONTRAST = 0.3                # contrast 1 +- 0.3 around the face's mean
RANDOM_ERASING = 0.4          # probability of one rectangle of noise (2-25% of the face)
FRAMING_MIX = 0.5             # with --framings: probability a face is first cut as a detector cut it
# Optional targets (off unless --ferplus / --teacher is given): (1 - mix) x label + mix x other.
FERPLUS_MIX = 0.5             # FER+ vote fractions (fer2013new.csv)
TEACHER_MIX = 0.5             # a trained teacher's predictions on each augmented batch
TEACHER_TEMPERATURE = 2.0     # softens the teacher: p ** (1/T), renormalised


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fer_models.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=DATA, help="fer2013.csv[.gz] (Kaggle layout) or a train/ test/ folder")
    p.add_argument("--out", default=OUT, help="run folder: checkpoints, best model, history")
    p.add_argument("--arch", default=ARCH, choices=["baseline", "fernet", "mobilenet_v2"])
    p.add_argument("--width", type=int, default=WIDTH, help="fernet: channels of the first stage")
    p.add_argument("--dropout", type=float, default=DROPOUT, help="fernet: dropout before the classifier")
    p.add_argument("--imagenet-weights", help="mobilenet_v2: local no-top ImageNet weights file")
    p.add_argument("--train-split", default=TRAIN_SPLIT, help="Usage value (CSV) or folder name")
    p.add_argument("--val-split", default=VAL_SPLIT, help="Usage value (CSV) or folder name")
    p.add_argument("--ferplus", help="fer2013new.csv: mix FER+ vote fractions into the targets")
    p.add_argument("--ferplus-mix", type=float, default=FERPLUS_MIX, help="weight of FER+ votes in the target")
    p.add_argument("--teacher", help="a trained .keras model run on every augmented batch, whose softened "
                                     "predictions join the targets (online distillation)")
    p.add_argument("--teacher-mix", type=float, default=TEACHER_MIX, help="weight of the teacher in the target")
    p.add_argument("--teacher-temperature", type=float, default=TEACHER_TEMPERATURE,
                   help="softens the teacher's probabilities: p ** (1/T), renormalised")
    p.add_argument("--teacher-online", action="store_true",
                   help="accepted for recorded commands: a --teacher always runs on every augmented batch")
    p.add_argument("--initial-weights",
                   help="a trained .keras model of the same architecture to start from (fine-tuning)")
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--lr", type=float, default=LEARNING_RATE, help="peak learning rate (cosine decay)")
    p.add_argument("--warmup-epochs", type=int, default=WARMUP_EPOCHS)
    p.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    p.add_argument("--label-smoothing", type=float, default=LABEL_SMOOTHING)
    p.add_argument("--random-erasing", type=float, default=RANDOM_ERASING,
                   help="probability of covering a random rectangle of each training face with noise")
    p.add_argument("--framings", nargs="+", default=[], metavar="NPZ",
                   help="per-face detector framings of the Training faces (fer_models.detector_framings): "
                        "with probability --framing-mix a face is first cut as one of these detectors "
                        "(drawn at random) cut it in a camera frame, so the model learns its labels "
                        "from the crops it will see through the pipeline")
    p.add_argument("--framing-mix", type=float, default=FRAMING_MIX,
                   help="probability a face with a detector framing is cut by it")
    p.add_argument("--class-weight-power", type=float, default=CLASS_WEIGHT_POWER,
                   help="class weight = (n_max / n_class) ** power; 0 turns class weighting off")
    p.add_argument("--patience", type=int, default=PATIENCE,
                   help="early stopping on validation accuracy after this many epochs; 0: never")
    p.add_argument("--time-budget", type=float, default=TIME_BUDGET,
                   help="seconds of training this run may take: the epoch count (and so the cosine "
                        "schedule) shrinks to what fits, planned from measured epoch times; 0: no limit")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training rows (smoke tests)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--no-progress", action="store_true", help="one line per epoch instead of a bar")
    args = p.parse_args(argv)
    if args.teacher_online and not args.teacher:
        p.error("--teacher-online needs --teacher MODEL.keras")
    args.teacher_online = bool(args.teacher)  # recorded in args.json, read by fer_models.model_card
    return args


# --- Data: targets and class weights ----------------------------------------------------------------
def class_weights(labels: np.ndarray, power: float) -> dict[int, float]:
    """Inverse-frequency weights softened by ``power`` and normalised to a mean of 1 over samples."""
    counts = np.bincount(labels, minlength=NUM_EMOTIONS).astype(np.float64)
    weights = (counts.max() / np.maximum(counts, 1)) ** power
    weights /= (weights * counts).sum() / counts.sum()
    return {i: float(w) for i, w in enumerate(weights)}


def targets(split, ferplus_mix: float) -> np.ndarray:
    onehot = np.eye(NUM_EMOTIONS, dtype=np.float32)[split.labels]
    if split.soft_labels is None:
        return onehot
    return (1 - ferplus_mix) * onehot + ferplus_mix * split.soft_labels


# --- Augmentation -----------------------------------------------------------------------------------
def augment(images: np.ndarray, rng: np.random.Generator, erasing: float = 0.0) -> np.ndarray:
    """Random mirror, rotation (ROTATION_DEGREES), zoom (ZOOM), shift (SHIFT) and contrast (CONTRAST)
    of a batch ``(n, 48, 48, 1)``, and with probability ``erasing`` a rectangle of noise (random
    erasing). Runs on the host with OpenCV, so every Keras backend sees the same augmentation at the
    same cost (Keras' own random layers are slow on JAX)."""
    import cv2

    n, height, width = images.shape[:3]
    out = np.empty_like(images)
    angles = rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES, n)
    scales = 1 + rng.uniform(-ZOOM, ZOOM, n)
    shifts = rng.uniform(-SHIFT, SHIFT, (n, 2)) * (width, height)
    flips = rng.random(n) < 0.5
    contrasts = 1 + rng.uniform(-CONTRAST, CONTRAST, n)
    for i in range(n):
        image = images[i, :, :, 0]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angles[i], scales[i])
        matrix[:, 2] += shifts[i]
        image = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        if flips[i]:
            image = image[:, ::-1]
        mean = image.mean()
        out[i, :, :, 0] = np.clip((image - mean) * contrasts[i] + mean, 0, 255)
    if erasing > 0:  # drawn after the rest, so erasing=0 keeps earlier runs' augmentation
        erase_rectangles(out, rng, erasing)
    return out


def reframe(images: np.ndarray, framings: np.ndarray, rng: np.random.Generator, mix: float) -> np.ndarray:
    """A copy of ``images`` ``(n, 48, 48, 1)`` where, with probability ``mix``, a face is cut again at
    the square one detector (drawn at random among ``framings`` ``(n, detectors, 4)``: dx, dy, side,
    angle relative to the face's square, fer_models.detector_framings) cropped it at in a camera
    frame, by the pipeline's own crop (fer_ros.core.framing.crop_square: edges repeated past the
    border). Faces the drawn detector did not find keep their framing."""
    from fer_ros.core.framing import crop_square
    from fer_ros.core.types import FaceSquare

    n, size = images.shape[0], images.shape[1]
    chosen = rng.random(n) < mix
    which = rng.integers(0, framings.shape[1], n)
    out = images.copy()
    for i in np.flatnonzero(chosen):
        dx, dy, side, angle = framings[i, which[i]]
        if np.isnan(side):
            continue
        square = FaceSquare(size / 2 + dx * size, size / 2 + dy * size, side * size, float(angle))
        out[i, :, :, 0] = crop_square(images[i, :, :, 0], square, size)
    return out


def load_framings(paths: list[str], faces: int) -> np.ndarray | None:
    """``(faces, len(paths), 4)`` detector framings of the first ``faces`` Training faces from the
    ``.npz`` files of fer_models.detector_framings (NaN where a file stops before a face, or its
    detector did not find it), or None without ``paths``."""
    from fer_models.detector_framings import COLUMNS

    if not paths:
        return None
    out = np.full((faces, len(paths), len(COLUMNS)), np.nan, np.float32)
    for k, path in enumerate(paths):
        if not Path(path).is_file():
            raise SystemExit(f"--framings {path}: no such file; write it with python -m fer_models.detector_framings")
        with np.load(path) as stored:
            rows = stored["framings"][:faces]
            if tuple(stored["columns"]) != COLUMNS or rows.ndim != 2:
                raise SystemExit(f"--framings {path}: not the Training faces' framings written by "
                                 "python -m fer_models.detector_framings")
        out[:len(rows), k] = rows
    return out


def erase_rectangles(images: np.ndarray, rng: np.random.Generator, probability: float) -> None:
    """Random erasing (Zhong et al. 2020), in place: each image, with ``probability``, gets one
    rectangle of 2-25% of its area, aspect ratio 0.3-3.3, filled with uniform noise. It teaches the
    network to read a face from its parts, as when a hand or a mask hides some of it."""
    n, height, width = images.shape[:3]
    chosen = np.flatnonzero(rng.random(n) < probability)
    areas = rng.uniform(0.02, 0.25, len(chosen)) * height * width
    aspects = np.exp(rng.uniform(np.log(0.3), np.log(3.3), len(chosen)))
    corners = rng.random((len(chosen), 2))
    for i, area, aspect, (fy, fx) in zip(chosen, areas, aspects, corners):
        h = min(height, max(1, int(round(np.sqrt(area * aspect)))))
        w = min(width, max(1, int(round(np.sqrt(area / aspect)))))
        y, x = int(fy * (height - h + 1)), int(fx * (width - w + 1))
        images[i, y:y + h, x:x + w, 0] = rng.uniform(0, 255, (h, w))


class Teacher:
    """A trained model whose predictions become part of the training targets (distillation): the
    mean of its probabilities for each face and its mirror image, softened by ``temperature``."""

    def __init__(self, path: str, temperature: float):
        import keras

        self.model = keras.models.load_model(path, compile=False)
        self.temperature = temperature
        self._lock = threading.Lock()  # data workers call it from several threads

    def targets(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        both = np.concatenate([images, images[:, :, ::-1]])
        with self._lock:  # predict_on_batch: no per-call dataset set-up, unlike predict
            probs = np.concatenate([np.asarray(self.model.predict_on_batch(both[i:i + batch_size]))
                                    for i in range(0, len(both), batch_size)])
        probs = (probs[:len(images)] + probs[len(images):]) / 2
        return rescale(probs, self.temperature, floor=1e-8).astype(np.float32)


def augmented_batches(x, y, sample_weight, batch_size: int, seed: int, erasing: float = 0.0,
                      teacher: Teacher | None = None, teacher_mix: float = 0.0,
                      framings: np.ndarray | None = None, framing_mix: float = 0.0):
    """A Keras dataset of shuffled, augmented training batches, prepared by worker threads. With a
    ``teacher``, each batch's targets mix in its predictions for the augmented faces themselves
    (online distillation), weighted ``teacher_mix``. With ``framings`` (:func:`load_framings`), a
    face is first cut, with probability ``framing_mix``, as a detector drawn at random cut it
    (:func:`reframe`); the teacher still sees it as FER2013 framed it, augmented the same way, so
    the model learns to say from a detector's crop what the teacher says from FER2013's."""
    import cv2
    import keras

    cv2.setNumThreads(1)  # the worker threads are the parallelism; OpenCV's own pool only contends

    class AugmentedBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=4, use_multiprocessing=False)
            self.epoch = 0
            self.on_epoch_end()  # sets the first epoch's order

        def __len__(self):
            return -(-len(x) // batch_size)

        def __getitem__(self, index):
            rows = self.order[index * batch_size:(index + 1) * batch_size]
            key = (seed, self.epoch, index)
            cut = x[rows] if framings is None else reframe(x[rows], framings[rows],
                                                          np.random.default_rng((*key, 1)), framing_mix)
            faces, targets = augment(cut, np.random.default_rng(key), erasing), y[rows]
            if teacher is not None:  # the same augmentation of the faces as FER2013 framed them
                seen = faces if framings is None else augment(x[rows], np.random.default_rng(key), erasing)
                targets = (1 - teacher_mix) * targets + teacher_mix * teacher.targets(seen)
            return faces, targets, sample_weight[rows]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng((seed, self.epoch)).permutation(len(x))

    return AugmentedBatches()


# --- Model ------------------------------------------------------------------------------------------
def make_model(args: argparse.Namespace):
    """The network ``--arch`` names, started from ``--initial-weights`` when given."""
    from fer_models.architectures import ARCHITECTURES

    if args.arch == "fernet":
        model = ARCHITECTURES["fernet"](width=args.width, dropout=args.dropout)
    elif args.arch == "mobilenet_v2":
        model = ARCHITECTURES["mobilenet_v2"](imagenet_weights=args.imagenet_weights)
    else:
        model = ARCHITECTURES["baseline"]()
    if args.initial_weights:
        start_from(model, args.initial_weights)
    return model


def start_from(model, path: str) -> None:
    """Copy the weights of the trained model at ``path`` into ``model`` (the same architecture)."""
    import keras

    trained = keras.models.load_model(path, compile=False)
    ours, theirs = [w.shape for w in model.get_weights()], [w.shape for w in trained.get_weights()]
    if ours != theirs:
        raise SystemExit(f"--initial-weights {path}: {trained.name} ({trained.count_params():,} parameters) "
                         f"is not the architecture being trained, {model.name} ({model.count_params():,}); "
                         "pass the same --arch and --width it was trained with")
    model.set_weights(trained.get_weights())


# --- Run: schedule, time budget, best checkpoint ----------------------------------------------------
def accelerator() -> str:
    """The device the Keras backend trains on, in words."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        device = jax.devices()[0]
        return f"jax on {device.platform.upper()}: {device.device_kind}"
    if backend == "torch":
        import torch
        return f"torch on {'GPU: ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}"
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    return f"tensorflow on {'GPU: ' + gpus[0].name if gpus else 'CPU'}"


def cosine_schedule(peak: float, plan: dict, warmup: int):
    """Warm-up, then cosine decay to zero at ``plan["epochs"]`` (read at each epoch, so a time
    budget can shorten the run and its schedule together)."""
    def schedule(epoch: int, _lr=None) -> float:
        if epoch < warmup:
            return peak * (epoch + 1) / (warmup + 1)
        progress = (epoch - warmup) / max(1, plan["epochs"] - warmup)
        return float(peak * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0))))
    return schedule


def time_budget(plan: dict, seconds: float):
    """A callback that fits the run into ``seconds``: after every epoch it re-plans the epoch count
    from the last epoch's duration (the first, which includes compilation, is only a bound)."""
    import keras

    started = time.time()
    last = [started]

    def on_epoch_end(epoch, logs):
        now = time.time()
        duration, last[0] = now - last[0], now
        fits = epoch + 1 + int((seconds - (now - started)) // max(duration, 1e-3))
        if epoch == 0 and now - started < seconds:
            fits = max(fits, 2)  # compilation can make the first epoch many times longer than the rest
        plan["epochs"] = max(epoch + 1, min(plan["max_epochs"], fits))
        if epoch + 1 >= plan["epochs"]:
            budget.model.stop_training = True

    budget = keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)
    return budget


def best_so_far(history: Path) -> float:
    """The best ``val_accuracy`` in a run's ``history.csv`` (-1 when there is none yet)."""
    rows = history.read_text().splitlines() if history.exists() else []
    if not rows or "val_accuracy" not in rows[0].split(","):
        return -1.0
    column = rows[0].split(",").index("val_accuracy")
    return max((float(row.split(",")[column]) for row in rows[1:]), default=-1.0)


def save_best(model, path: Path, history: Path):
    """A callback that saves the model without its optimizer state (a third of the size) whenever
    validation accuracy beats the best so far; the best survives resumes through ``history.csv``."""
    import keras

    best = best_so_far(history) if path.exists() else -1.0

    def on_epoch_end(epoch, logs):
        nonlocal best
        if logs.get("val_accuracy", -1.0) > best:
            best = logs["val_accuracy"]
            bare = model.__class__.from_config(model.get_config())  # uncompiled: no optimizer state
            bare.set_weights(model.get_weights())
            bare.save(path)

    return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


def main(argv=None) -> int:
    args = parse_args(argv)
    # --- Setup: seeds first, then the Keras backend (TensorFlow reads the environment at import) ---
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from fer_models.data import attach_ferplus, load_split, read_csv

    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"training with {accelerator()}", flush=True)

    # --- Data ------------------------------------------------------------------------------------
    if Path(args.data).is_dir():
        train, val = load_split(args.data, args.train_split), load_split(args.data, args.val_split)
    else:
        splits = read_csv(args.data)
        train, val = splits[args.train_split], splits[args.val_split]
    if args.ferplus:
        attach_ferplus(train, args.ferplus)
    if args.limit:
        train.images, train.labels = train.images[: args.limit], train.labels[: args.limit]
        if train.soft_labels is not None:
            train.soft_labels = train.soft_labels[: args.limit]
    print(f"train {len(train)} {train.class_counts()}\nval   {len(val)} {val.class_counts()}", flush=True)
    x_train = train.images[..., None].astype(np.float32)
    y_train = targets(train, args.ferplus_mix)
    x_val = val.images[..., None].astype(np.float32)
    y_val = np.eye(NUM_EMOTIONS, dtype=np.float32)[val.labels]
    weights = class_weights(train.labels, args.class_weight_power)
    sample_weight = np.array([weights[c] for c in train.labels], np.float32)
    teacher = Teacher(args.teacher, args.teacher_temperature) if args.teacher else None
    framings = load_framings(args.framings, len(train))
    batches = augmented_batches(x_train, y_train, sample_weight, args.batch_size, args.seed,
                                args.random_erasing, teacher, args.teacher_mix, framings, args.framing_mix)

    # --- Model ------------------------------------------------------------------------------------
    model = make_model(args)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=args.lr, weight_decay=args.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=["accuracy"],
    )
    print(f"{model.name}: {model.count_params():,} parameters; class weights "
          + ", ".join(f"{EMOTIONS[i]}={w:.2f}" for i, w in weights.items()), flush=True)

    # --- Run ---------------------------------------------------------------------------------------
    (out / "args.json").write_text(json.dumps(vars(args), indent=2))
    started = time.time()
    plan = {"epochs": args.epochs, "max_epochs": args.epochs}
    callbacks = [
        # Resume after an interruption, or continue a finished run given a larger --epochs.
        keras.callbacks.BackupAndRestore(str(out / "backup"), delete_checkpoint=False),
        keras.callbacks.LearningRateScheduler(cosine_schedule(args.lr, plan, args.warmup_epochs)),
        save_best(model, out / "best.keras", out / "history.csv"),
        *([keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=args.patience)]
          if args.patience else []),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    if args.time_budget:
        callbacks.append(time_budget(plan, args.time_budget))
    model.fit(batches, validation_data=(x_val, y_val), validation_batch_size=256, epochs=args.epochs,
              callbacks=callbacks, verbose=2 if args.no_progress else 1)
    elapsed = time.time() - started

    # --- Evaluate the best checkpoint ------------------------------------------------------------
    best = keras.models.load_model(out / "best.keras", compile=False)
    predicted = best.predict(x_val, batch_size=256, verbose=0).argmax(axis=1)
    summary = {"model": best.name, "parameters": best.count_params(), "val_split": args.val_split,
               "val_accuracy": round(float((predicted == val.labels).mean()), 4),
               "epochs_planned": plan["epochs"], "wall_time_s_this_run": round(elapsed)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
