"""Train an emotion model on FER2013, validating (and early-stopping) on PublicTest.

Reads top to bottom like a keras-io example: setup, data, hyperparameters, augmentation, model, run.
Every epoch writes a resumable backup to ``OUT/backup`` and the best model (by PublicTest accuracy)
to ``OUT/best.keras``; running the same command again resumes where it stopped, and a larger
``--epochs`` continues a finished run.

    python -m fer_models.train --data ../shared/data/fer2013/fer2013.csv.gz --out runs/fernet
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from fer_ros.core.emotions import EMOTIONS, NUM_EMOTIONS


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fer_models.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="fer2013.csv[.gz] (Kaggle layout) or a train/ test/ folder")
    p.add_argument("--out", required=True, help="run folder: checkpoints, best model, history")
    p.add_argument("--arch", default="fernet", choices=["baseline", "fernet", "mobilenet_v2"])
    p.add_argument("--width", type=int, default=24, help="fernet: channels of the first stage")
    p.add_argument("--imagenet-weights", help="mobilenet_v2: local no-top ImageNet weights file")
    p.add_argument("--train-split", default="Training", help="Usage value (CSV) or folder name")
    p.add_argument("--val-split", default="PublicTest", help="Usage value (CSV) or folder name")
    p.add_argument("--ferplus", help="fer2013new.csv: mix FER+ vote fractions into the targets")
    p.add_argument("--ferplus-mix", type=float, default=0.5, help="weight of FER+ votes in the target")
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine decay)")
    p.add_argument("--warmup-epochs", type=int, default=1)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--class-weight-power", type=float, default=0.3,
                   help="class weight = (n_max / n_class) ** power; 0 turns class weighting off")
    p.add_argument("--patience", type=int, default=8, help="early stopping on validation accuracy")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training rows (smoke tests)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-progress", action="store_true", help="one line per epoch instead of a bar")
    return p.parse_args(argv)


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


def augmenter():
    import keras
    from keras import layers

    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.04, fill_mode="nearest"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
        layers.RandomZoom((-0.15, 0.15), fill_mode="nearest"),
        layers.RandomContrast(0.3),
    ], name="augment")


def cosine_schedule(peak: float, epochs: int, warmup: int):
    def schedule(epoch: int, _lr=None) -> float:
        if epoch < warmup:
            return peak * (epoch + 1) / (warmup + 1)
        progress = (epoch - warmup) / max(1, epochs - warmup)
        return float(peak * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0))))
    return schedule


def main(argv=None) -> int:
    args = parse_args(argv)
    # --- Setup: seeds first, then TensorFlow (it reads the environment at import) ----------------
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from fer_models.architectures import ARCHITECTURES
    from fer_models.data import attach_ferplus, load_split, read_csv

    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"training on {'GPU: ' + gpus[0].name if gpus else 'CPU'}", flush=True)

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

    # --- Augmentation and input pipeline ---------------------------------------------------------
    augment = augmenter()
    weights = class_weights(train.labels, args.class_weight_power)
    sample_weight = np.array([weights[c] for c in train.labels], np.float32)
    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train, sample_weight))
        .shuffle(len(x_train), seed=args.seed, reshuffle_each_iteration=True)
        .batch(args.batch_size)
        .map(lambda x, y, w: (augment(x, training=True), y, w), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)

    # --- Model -----------------------------------------------------------------------------------
    if args.arch == "fernet":
        model = ARCHITECTURES["fernet"](width=args.width)
    elif args.arch == "mobilenet_v2":
        model = ARCHITECTURES["mobilenet_v2"](imagenet_weights=args.imagenet_weights)
    else:
        model = ARCHITECTURES["baseline"]()
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=args.lr, weight_decay=args.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=["accuracy"],
    )
    print(f"{model.name}: {model.count_params():,} parameters; class weights "
          + ", ".join(f"{EMOTIONS[i]}={w:.2f}" for i, w in weights.items()), flush=True)

    # --- Run -------------------------------------------------------------------------------------
    (out / "args.json").write_text(json.dumps(vars(args), indent=2))
    started = time.time()
    callbacks = [
        # Resume after an interruption, or continue a finished run given a larger --epochs.
        keras.callbacks.BackupAndRestore(str(out / "backup"), delete_checkpoint=False),
        keras.callbacks.LearningRateScheduler(cosine_schedule(args.lr, args.epochs, args.warmup_epochs)),
        keras.callbacks.ModelCheckpoint(str(out / "best.keras"), monitor="val_accuracy",
                                        save_best_only=True, mode="max"),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=args.patience),
        keras.callbacks.CSVLogger(str(out / "history.csv"), append=True),
    ]
    model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, callbacks=callbacks,
              verbose=2 if args.no_progress else 1)
    elapsed = time.time() - started

    # --- Evaluate the best checkpoint ------------------------------------------------------------
    best = keras.models.load_model(out / "best.keras")
    _, val_accuracy = best.evaluate(val_ds, verbose=0)
    summary = {"model": best.name, "parameters": best.count_params(), "val_split": args.val_split,
               "val_accuracy": round(float(val_accuracy), 4), "wall_time_s_this_run": round(elapsed)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
