"""The device job of issue 18: stronger fernet teachers and online distillation, side by side on one GPU.

One call of the device tool (at most 600 s) runs five trainings at once on its one GPU, each fitted
to the time left by ``--time-budget``:

    w48        fernet width 48 from scratch (a stronger teacher)
    w64        fernet width 64 from scratch (a stronger teacher)
    w32_seed2  fernet width 32 from scratch, seed 2 (an independent second w32)
    w16_kd     the shipped `fast` w16 continued, the shipped `default` w32 as online teacher (mix 0.8)
    w32_kd     fernet width 32 from scratch, the shipped `default` as online teacher (mix 0.8)

How to run it (the shell entry ``fer_models/jobs/gpu_models.sh`` says the same):

1. Here, once per checkout (needs ../shared and pip's network; about 2 min):
       . ./env.sh && python -m fer_models.jobs.gpu_models prepare
   It writes ``.gpu/fer2013.xz`` (the Training and PublicTest rows of ../shared's FER2013, lossless,
   52.5 MiB: the 81 MiB csv.gz does not fit the 64 MiB that travels, and the device cannot reach
   ../shared), ``.gpu/fer2013.json`` (its checksums) and ``.whl/`` (Keras 3.15.1, namex and optree
   wheels for the device's Python 3.12, 2.8 MiB: Keras is not installed there; JAX, OpenCV, onnx and
   ONNX Runtime are), adds both folders to ``.git/info/exclude`` and prints what will travel (61.5
   MiB when written; it fails above 64 MiB: other untracked files in the tree travel too). Nothing
   needs to be moved aside: the shipped models are rebuilt there as Keras files from
   ``fer_ros/models/*.onnx`` (``fernet_from_onnx``, checked against ONNX Runtime).
2. The device tool's ``run``, once (nothing else in the call):
       command:   bash fer_models/jobs/gpu_models.sh
       carry:     [".gpu", ".whl"]
       timeout_s: 600
   The job ends by itself about 570 s after it starts (``--deadline 560`` for the Python part).
   What comes back in ``files_at``: ``job.log`` (everything it printed), ``job.json`` (per run:
   status, epochs, best epoch's PublicTest accuracy, evaluation one pass and mirror-averaged) and
   ``runs.tar.00``, ``.01``, ... (one tar cut in 15 MiB parts: only 8 files of at most 16 MiB come
   back), holding ``<run>/`` (``best.keras``, ``history.csv``, ``args.json``, ``summary.json``,
   ``evaluation.json``, ``evaluation_flip.json``) and ``<run>.log`` for every run. The per-epoch
   backups (``<run>/backup``, with optimizer state) stay on the machine, in ``/tmp/fer_job``; a
   second call on a machine still warm from the first resumes the runs from them (``--work
   /tmp/other`` starts afresh).
3. Here: ``python -m fer_models.jobs.gpu_models unpack FILES_AT --to runs/gpu18``, then ship a run
   that beats the shipped model with the README's pipeline, e.g.
       make ship-model RUN=runs/gpu18/w32_kd NAME=default EXPORT_ARGS=--flip-average \
           CARD_ARGS='--hardware "one NVIDIA H200, Keras 3.15.1 on JAX, beside four other runs"'
       make ship-model RUN=runs/gpu18/w16_kd NAME=fast EXPORT_ARGS='--temperature T' CARD_ARGS=...
   (T: the ``temperature`` its evaluation.json reports). w48 (10.6 MB) and w64 (18.7 MB) are over
   the default's 5 MB: they are teachers for the next round (``--teacher runs/gpu18/w64/best.keras``).
   (it exports to ONNX, runs ``fer_models.evaluate`` on PublicTest, writes figures and the card:
   the evaluation on the device is ``fer_models.evaluate``'s on the Keras file, since TensorFlow and
   tf2onnx are not there to export). A distilled run's card names its teacher
   ``/tmp/fer_job/shipped_default.keras``: the shipped ``default`` rebuilt, as its log says.

``run --dry-run --out DIR`` runs the same job on this machine's CPU on a generated tiny FER2013
(one step, one epoch, tiny widths), writing the same files; ``list`` prints each run's arguments.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "fer_ros" / "models"
SHARED_CSV = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.csv.gz"
GPU_DIR, WHEEL_DIR = ".gpu", ".whl"
PACKED_DATA = f"{GPU_DIR}/fer2013.xz"
SPLITS = ("Training", "PublicTest")  # PrivateTest is never used, so it does not travel
WHEELS = ("keras", "namex", "optree")  # Keras 3 and what the device's image lacks of its needs
DEVICE_WORK = "/tmp/fer_job"
PART_BYTES = 15 * 2**20  # files back are at most 16 MiB each
TRAVEL_LIMIT = 64 * 2**20
# Seconds kept free at the end of the deadline: the evaluation after training, then the packing.
EVALUATION_RESERVE, PACKING_RESERVE = 45, 15
STARTUP_RESERVE = 40  # a training process's imports and CSV parsing, before its budget starts

COMMON = ["--arch", "fernet", "--epochs", "300", "--batch-size", "128", "--lr", "0.003",
          "--warmup-epochs", "3", "--weight-decay", "0.01", "--label-smoothing", "0.1",
          "--random-erasing", "0.4", "--patience", "1000", "--seed", "1337", "--no-progress"]
ONLINE_TEACHER = ["--teacher", "{default}", "--teacher-online", "--teacher-mix", "0.8",
                  "--teacher-temperature", "2.0"]


@dataclass(frozen=True)
class Run:
    name: str
    what: str
    args: tuple[str, ...]  # after COMMON (later flags win); {default} and {fast} name the shipped models


RUNS = {run.name: run for run in [
    Run("w48", "fernet width 48 from scratch (teacher candidate)", ("--width", "48")),
    Run("w64", "fernet width 64 from scratch (teacher candidate)", ("--width", "64")),
    Run("w32_seed2", "fernet width 32 from scratch, another seed (teacher candidate)",
        ("--width", "32", "--seed", "2")),
    Run("w16_kd", "the shipped fast w16 continued with the shipped default as online teacher",
        ("--width", "16", "--initial-weights", "{fast}", *ONLINE_TEACHER, "--lr", "0.001",
         "--warmup-epochs", "1")),
    Run("w32_kd", "fernet width 32 from scratch with the shipped default as online teacher",
        ("--width", "32", *ONLINE_TEACHER)),
]}


SWITCHES = {"--teacher-online", "--no-progress"}  # fer_models.train flags that take no value


def merged(*parts) -> list[str]:
    """Arguments for fer_models.train: each flag once, a later value replacing an earlier one."""
    flags: dict[str, str | None] = {}
    for part in parts:
        items = list(part)
        while items:
            flag = items.pop(0)
            flags[flag] = None if flag in SWITCHES else items.pop(0)
    return [item for flag, value in flags.items() for item in ([flag] if value is None else [flag, value])]


class JobError(RuntimeError):
    """The job cannot start or go on; the message says what to do."""


# --- Data: FER2013 packed for the trip, and back into the Kaggle CSV layout ------------------------

def pack_data(csv_path: Path, out: Path) -> dict:
    """Write the Training and PublicTest rows of ``csv_path`` to ``out`` (xz, delta-filtered raw
    bytes: labels, then images, split after split) and ``out.json``; returns that description."""
    from fer_models.data import read_csv

    import hashlib

    splits = read_csv(csv_path)
    blob = b"".join(splits[s].labels.astype(np.uint8).tobytes() + splits[s].images.tobytes() for s in SPLITS)
    filters = [{"id": lzma.FILTER_DELTA, "dist": 1}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(lzma.compress(blob, format=lzma.FORMAT_XZ, filters=filters))
    meta = {"source": str(csv_path), "source_sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
            "splits": {s: len(splits[s]) for s in SPLITS}, "raw_sha256": hashlib.sha256(blob).hexdigest(),
            "layout": "per split: labels uint8 (n), then images uint8 (n, 48, 48); xz with a delta filter"}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def unpack_data(packed: Path, csv_out: Path) -> tuple[dict, np.ndarray]:
    """Write the packed data back as a Kaggle-layout CSV (emotion,pixels,Usage) that
    ``fer_models.data.read_csv`` reads as the original rows; returns the description (checked) and
    the Training faces."""
    import hashlib

    meta_path = packed.with_suffix(".json")
    if not meta_path.exists():
        raise JobError(f"{meta_path} is missing: carry the whole {GPU_DIR} folder that `prepare` wrote")
    meta = json.loads(meta_path.read_text())
    blob = lzma.decompress(packed.read_bytes())
    if hashlib.sha256(blob).hexdigest() != meta["raw_sha256"]:
        raise JobError(f"{packed}: checksum does not match {meta_path}; run `prepare` again")
    digits = [str(i) for i in range(256)]
    offset, faces = 0, {}
    with open(csv_out, "w", newline="") as handle:
        handle.write("emotion,pixels,Usage\n")
        for split in SPLITS:
            n = meta["splits"][split]
            labels = np.frombuffer(blob, np.uint8, n, offset)
            images = np.frombuffer(blob, np.uint8, n * 48 * 48, offset + n).reshape(n, 48 * 48)
            offset += n + n * 48 * 48
            faces[split] = images.reshape(n, 48, 48)
            handle.writelines(f"{label},{' '.join([digits[p] for p in image])},{split}\n"
                              for label, image in zip(labels, images))
    return meta, faces["Training"]


def tiny_csv(path: Path, n_train: int = 32, n_val: int = 21, seed: int = 0) -> Path:
    """A generated FER2013 in the Kaggle layout for the dry run: random faces, every label present."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for split, n in (("Training", n_train), ("PublicTest", n_val)):
            for i in range(n):
                pixels = rng.integers(0, 256, 48 * 48)
                writer.writerow([i % 7, " ".join(map(str, pixels)), split])
    return path


# --- One run: train, then evaluate the best checkpoint (a child process each) -----------------------

class KerasClassifier:
    """A trained Keras model behind the classifier interface ``fer_models.evaluate`` measures (name,
    input_size, predict), optionally mirror-averaged as ``export --flip-average`` makes it."""

    def __init__(self, model, flip_average: bool = False):
        self.model, self.flip_average = model, flip_average
        self.name = model.name + ("_flipavg" if flip_average else "")
        self.input_size = int(model.input_shape[1])

    def predict(self, faces: np.ndarray) -> np.ndarray:
        x = faces[..., None].astype(np.float32)
        probabilities = np.asarray(self.model.predict_on_batch(x))
        if self.flip_average:
            probabilities = (probabilities + np.asarray(self.model.predict_on_batch(x[:, :, ::-1]))) / 2
        return probabilities.astype(np.float32)


def evaluate_keras(model_path: Path, data: Path, split: str = "PublicTest") -> dict[str, dict]:
    """``fer_models.evaluate``'s report for the Keras file, one pass and mirror-averaged."""
    import keras

    from fer_models.data import load_split
    from fer_models.evaluate import evaluate

    faces = load_split(data, split)
    model = keras.models.load_model(model_path, compile=False)
    results = {}
    for key, flip in (("evaluation", False), ("evaluation_flip", True)):
        result = evaluate(KerasClassifier(model, flip), faces.images, faces.labels)
        result.update(split=split, runtime=f"Keras {keras.__version__} on {keras.backend.backend()} "
                      "(latency: this machine, not the node's ONNX Runtime on one core)")
        results[key] = result
    return results


def train_one(argv: list[str]) -> int:
    """``train-one --eval-data CSV -- TRAIN_ARGS``: ``fer_models.train`` with ``TRAIN_ARGS``, then the
    evaluation of its best checkpoint. SIGTERM (the job's deadline) ends the training early but not
    the evaluation. Exit 0: trained to its plan; 3: stopped early; 4: no checkpoint to evaluate."""
    parser = argparse.ArgumentParser(prog="gpu_models train-one")
    parser.add_argument("--eval-data", required=True)
    parser.add_argument("train_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    from fer_models import train

    out = Path(train.parse_args(train_args).out)
    status = 0
    try:
        train.main(train_args)
    except KeyboardInterrupt:
        print("stopped by the job's deadline; evaluating the best checkpoint so far", flush=True)
        status = 3
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not (out / "best.keras").exists():
        print(f"{out}/best.keras: no checkpoint was written", flush=True)
        return 4
    for name, result in evaluate_keras(out / "best.keras", Path(args.eval_data)).items():
        (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{name}: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}", flush=True)
    return status


# --- The job -------------------------------------------------------------------------------------

def chosen_runs(names: str) -> list[Run]:
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in RUNS]
    if unknown or not wanted:
        raise JobError(f"unknown run name(s) {unknown or [names]}; choose from {', '.join(RUNS)}")
    return [RUNS[n] for n in dict.fromkeys(wanted)]


def run_arguments(run: Run, data: Path, out: Path, models: dict[str, Path], budget: float,
                  dry_run: bool) -> list[str]:
    named = [a.format(**{k: str(v) for k, v in models.items()}) for a in run.args]
    place = ["--data", str(data), "--out", str(out), "--time-budget", f"{budget:.0f}"]
    if not dry_run:
        return merged(COMMON, named, place)
    # One step of one epoch; a tiny network unless it starts from a shipped one's weights.
    tiny = ["--epochs", "1", "--batch-size", "32", "--limit", "32", "--time-budget", "0"]
    tiny += [] if "--initial-weights" in named else ["--width", "4"]
    return merged(COMMON, named, place, tiny)


def log_to(path: Path):
    handle = open(path, "a", buffering=1)

    def log(message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        handle.write(line + "\n")
    return log


def history_summary(run_dir: Path) -> dict:
    """Epochs run and the best epoch's validation accuracy, from the run's history.csv."""
    history = run_dir / "history.csv"
    if not history.exists():
        return {"epochs": 0}
    with open(history) as handle:
        rows = {int(r["epoch"]): r for r in csv.DictReader(handle) if r.get("epoch", "epoch") != "epoch"}
    if not rows:
        return {"epochs": 0}
    best = max(rows.values(), key=lambda r: float(r["val_accuracy"]))
    return {"epochs": len(rows), "best_epoch": int(best["epoch"]) + 1,
            "best_val_accuracy": round(float(best["val_accuracy"]), 4)}


def without_backup(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out ``<run>/backup`` (the per-epoch checkpoints with optimizer state: three times the
    model's size, and only useful to resume on that machine)."""
    return None if info.name.split("/")[1:2] == ["backup"] else info


def pack_results(work: Path, names: list[str], out: Path) -> list[Path]:
    """Tar every run's folder (without its per-epoch backup) and log, cut into PART_BYTES files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            for path in [work / name, work / f"{name}.log"]:
                if path.exists():
                    tar.add(path, arcname=path.name, filter=without_backup)
    data, parts = buffer.getvalue(), []
    for index, start in enumerate(range(0, max(len(data), 1), PART_BYTES)):
        part = out / f"runs.tar.{index:02d}"
        part.write_bytes(data[start:start + PART_BYTES])
        parts.append(part)
    return parts


def unpack_results(folder: Path, to: Path) -> list[str]:
    """Join ``folder/runs.tar.NN`` and extract it into ``to``; returns the names extracted."""
    parts = sorted(folder.glob("runs.tar.*"))
    if not parts:
        raise JobError(f"{folder}: no runs.tar.NN files; pass the files_at folder of the device run")
    to.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts))) as tar:
        tar.extractall(to, filter="data")
        return tar.getnames()


def accelerator_line() -> str:
    from fer_models.train import accelerator

    return accelerator()


def prepare_teachers(work: Path, faces: np.ndarray, log) -> tuple[dict[str, Path], dict]:
    """The shipped models rebuilt as Keras files (`default` as teacher, `fast` to start from),
    checked against their ONNX files."""
    from fer_models.jobs.fernet_from_onnx import PARITY_TOLERANCE, fernet_from_onnx, parity

    models, differences = {}, {}
    for name in ("default", "fast"):
        onnx = MODELS / f"fer_{name}.onnx"
        if not onnx.exists():
            raise JobError(f"{onnx} is missing: the job rebuilds the shipped models from it; do not move "
                           "fer_ros/models/*.onnx aside")
        model = fernet_from_onnx(onnx, faces[:4096])
        differences[name] = parity(model, onnx, faces[:512])
        if differences[name] > PARITY_TOLERANCE:
            raise JobError(f"{onnx}: the rebuilt Keras model differs from it by {differences[name]:.1e}")
        models[name] = work / f"shipped_{name}.keras"
        model.save(models[name])
        log(f"{name}: {onnx.name} rebuilt as {models[name].name} ({model.name}), largest difference "
            f"{differences[name]:.1e}")
    return models, differences


def run_job(args) -> int:
    started = time.monotonic()
    out = Path(args.out or os.environ.get("OUT") or "")
    if not str(out) or str(out) == ".":
        raise JobError("no --out and $OUT is unset: on the device the tool sets OUT; here pass --out DIR")
    runs = chosen_runs(args.runs)
    data = Path(args.data) if args.data else (None if args.dry_run else REPO / PACKED_DATA)
    if data is not None and not data.exists():
        raise JobError(f"{data}: no such file; run `python -m fer_models.jobs.gpu_models prepare` here and "
                       f"carry {GPU_DIR} (or pass --data a fer2013.csv[.gz])")
    out.mkdir(parents=True, exist_ok=True)
    # On the device a fixed folder, so that the run commands (and the model cards made from them)
    # name the rebuilt shipped models as /tmp/fer_job/shipped_*.keras.
    work = Path(args.work or (tempfile.mkdtemp(prefix="fer_job_") if args.dry_run else DEVICE_WORK))
    work.mkdir(parents=True, exist_ok=True)
    log = log_to(out / "job.log")
    log(f"issue 18 device job{' (dry run)' if args.dry_run else ''}: runs {', '.join(r.name for r in runs)}; "
        f"deadline {args.deadline:.0f} s; work folder {work}; results to {out}")
    try:
        return run_runs(args, runs, data, out, work, log, started)
    except JobError as error:
        log(f"error: {error}")
        raise
    finally:
        if args.dry_run and not args.keep_work and not args.work:
            shutil.rmtree(work, ignore_errors=True)


def run_runs(args, runs: list[Run], data: Path | None, out: Path, work: Path, log, started: float) -> int:
    """The job once its arguments are checked: environment, data, shipped models, runs, results."""
    deadline = args.deadline

    # --- Environment: Keras, the accelerator ---
    try:
        import keras
    except ImportError:
        raise JobError("Keras is not installed: carry the .whl folder that `prepare` wrote (the shell "
                       "entry fer_models/jobs/gpu_models.sh installs it)") from None
    accel = accelerator_line()
    log(f"Keras {keras.__version__}, backend {keras.backend.backend()}: training with {accel}")
    if not args.dry_run and "GPU" not in accel.upper():
        raise JobError(f"no GPU visible to Keras ({accel}); on the device run it through "
                       "fer_models/jobs/gpu_models.sh (KERAS_BACKEND=jax)")

    # --- Data ---
    from fer_models.data import load_split

    if data is None:
        csv_path = tiny_csv(work / "fer2013_tiny.csv")
        data_meta = {"source": "generated tiny CSV (dry run)"}
    elif data.suffix == ".xz":
        csv_path = work / "fer2013.csv"
        data_meta, training_faces = unpack_data(data, csv_path)
    else:
        csv_path, data_meta = data, {"source": str(data)}
    if data is None or data.suffix != ".xz":
        training_faces = load_split(csv_path, "Training").images
    log(f"data: {csv_path} ({data_meta.get('splits', 'rows as in the file')}); from {data_meta['source']}")
    models, differences = prepare_teachers(work, training_faces, log)

    # --- Runs side by side ---
    stop_at = deadline - EVALUATION_RESERVE
    budget = stop_at - (time.monotonic() - started) - STARTUP_RESERVE - 10
    if budget < 30 and not args.dry_run:
        raise JobError(f"only {budget:.0f} s of training would be left before the deadline; raise --deadline")
    environment = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2",
                       XLA_PYTHON_CLIENT_PREALLOCATE="false")
    if args.dry_run:
        environment.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    processes, commands, finished = {}, {}, {}
    for run in runs:
        train_args = run_arguments(run, csv_path, work / run.name, models, budget, args.dry_run)
        command = [sys.executable, "-m", "fer_models.jobs.gpu_models", "train-one", "--eval-data",
                   str(csv_path), "--", *train_args]
        commands[run.name] = train_args
        with open(work / f"{run.name}.log", "w") as handle:
            handle.write("python -m fer_models.train " + " ".join(train_args) + "\n")
            handle.flush()
            processes[run.name] = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                                   env=environment, cwd=REPO)
        log(f"{run.name}: started ({run.what}), time budget {budget:.0f} s")

    def elapsed() -> float:
        return time.monotonic() - started

    signalled = set()
    while len(finished) < len(processes):
        for name, process in processes.items():
            if name not in finished and process.poll() is not None:
                finished[name] = process.returncode
                log(f"{name}: ended with exit status {process.returncode} at {elapsed():.0f} s")
        if elapsed() > stop_at and not signalled:
            for name, process in processes.items():
                if name not in finished:
                    process.send_signal(signal.SIGTERM)
                    signalled.add(name)
                    log(f"{name}: still training at {elapsed():.0f} s, stopped for its evaluation")
        if elapsed() > deadline - PACKING_RESERVE:
            for name, process in processes.items():
                if name not in finished:
                    process.kill()
                    finished[name] = process.wait()
                    log(f"{name}: killed at {elapsed():.0f} s (evaluation not done)")
        time.sleep(0.5)

    # --- Results ---
    statuses = {0: "finished", 3: "stopped at the deadline, evaluated", 4: "no checkpoint"}
    summary = {"accelerator": accel, "keras": keras.__version__, "backend": keras.backend.backend(),
               "dry_run": args.dry_run, "deadline_s": deadline, "time_budget_s": round(budget),
               "data": data_meta, "shipped_models_rebuilt_difference": differences, "runs": {}}
    for run in runs:
        run_dir = work / run.name
        code = finished[run.name]
        entry = {"what": run.what, "exit_status": code,
                 "status": statuses.get(code, "killed at the deadline" if code < 0 else "failed: see log"),
                 "train_args": commands[run.name], **history_summary(run_dir)}
        for key in ("evaluation", "evaluation_flip"):
            path = run_dir / f"{key}.json"
            if path.exists():
                entry[f"{key}_accuracy"] = json.loads(path.read_text())["accuracy"]
        summary["runs"][run.name] = entry
        log(f"{run.name:<10} {entry['status']:<36} epochs {entry['epochs']:>3}  PublicTest "
            f"{entry.get('evaluation_accuracy', float('nan')):.4f} one pass, "
            f"{entry.get('evaluation_flip_accuracy', float('nan')):.4f} mirror-averaged")
    summary["wall_s"] = round(elapsed())
    (out / "job.json").write_text(json.dumps(summary, indent=2) + "\n")
    parts = pack_results(work, [r.name for r in runs], out)
    size = sum(p.stat().st_size for p in parts) / 2**20
    log(f"packed into {', '.join(p.name for p in parts)} ({size:.1f} MiB) at {elapsed():.0f} s")
    return 0 if all(code in (0, 3) for code in finished.values()) else 1


# --- Here: prepare what travels ------------------------------------------------------------------

def travelling_bytes() -> int:
    """What the device tool sends: tracked and untracked-not-ignored files, plus .gpu and .whl."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    files = [REPO / os.fsdecode(p) for p in listed if p]
    total = sum(f.stat().st_size for f in files if f.is_file())
    for folder in (GPU_DIR, WHEEL_DIR):
        total += sum(p.stat().st_size for p in (REPO / folder).rglob("*") if p.is_file())
    return total


def prepare(args) -> int:
    source = Path(args.data)
    if not source.exists():
        raise JobError(f"{source}: no such file; pass --data the Kaggle fer2013.csv[.gz]")
    exclude = REPO / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    present = exclude.read_text().split() if exclude.exists() else []
    with open(exclude, "a") as handle:
        handle.writelines(f"/{folder}/\n" for folder in (GPU_DIR, WHEEL_DIR) if f"/{folder}/" not in present)
    packed = REPO / PACKED_DATA
    if packed.exists() and packed.with_suffix(".json").exists() and not args.force:
        print(f"{packed}: already there (--force to write it again)")
    else:
        meta = pack_data(source, packed)
        print(f"{packed}: {packed.stat().st_size / 2**20:.1f} MiB, {meta['splits']}")
    if not args.no_wheels:
        from importlib.metadata import version

        (REPO / WHEEL_DIR).mkdir(exist_ok=True)
        platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
                                                 "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                                                 "manylinux1_x86_64")]
        pins = [f"{name}=={version(name)}" for name in WHEELS]
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                        *platforms,
                        "-d", str(REPO / WHEEL_DIR), *pins], check=True)
        print(f"{WHEEL_DIR}: " + ", ".join(p.name for p in sorted((REPO / WHEEL_DIR).glob("*.whl"))))
    total = travelling_bytes()
    print(f"travels: {total / 2**20:.1f} MiB of the {TRAVEL_LIMIT // 2**20} MiB limit")
    if total > TRAVEL_LIMIT:
        print("too much: other untracked files in this tree travel too; move them elsewhere for the call")
        return 1
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fer_models.jobs.gpu_models",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the job (on the device, through gpu_models.sh)")
    run.add_argument("--out", help="results folder (default: $OUT, which the device tool sets)")
    run.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, from {', '.join(RUNS)}")
    run.add_argument("--data", help=f"packed data (default {PACKED_DATA}) or a fer2013.csv[.gz]; "
                                    "--dry-run without it generates a tiny CSV")
    run.add_argument("--deadline", type=float, help="seconds from start by which everything is packed "
                                                    "(default 560; dry run 300)")
    run.add_argument("--work", help=f"where the runs train (default {DEVICE_WORK}; dry run: a new "
                                    "temporary folder, removed at the end)")
    run.add_argument("--keep-work", action="store_true", help="dry run: keep the temporary work folder")
    run.add_argument("--dry-run", action="store_true",
                     help="on this machine's CPU: tiny data, one step of one epoch, tiny widths")
    prep = commands.add_parser("prepare", help="here: pack the data and fetch the wheels that travel")
    prep.add_argument("--data", default=str(SHARED_CSV), help="the Kaggle fer2013.csv[.gz]")
    prep.add_argument("--force", action="store_true", help="pack the data again")
    prep.add_argument("--no-wheels", action="store_true", help="do not run pip download")
    unpack = commands.add_parser("unpack", help="here: extract the runs from the files that came back")
    unpack.add_argument("folder", help="the device run's files_at folder")
    unpack.add_argument("--to", required=True, help="e.g. runs/gpu18")
    commands.add_parser("list", help="print each run and its fer_models.train arguments")
    args = parser.parse_args(argv)
    if args.command == "run" and args.deadline is None:
        args.deadline = 300.0 if args.dry_run else 560.0
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train-one"]:  # the job's child process for one run
        return train_one(argv[1:])
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.command == "run":
            return run_job(args)
        if args.command == "prepare":
            return prepare(args)
        if args.command == "unpack":
            names = unpack_results(Path(args.folder), Path(args.to))
            print(f"{args.to}: " + ", ".join(n for n in names if "/" not in n))
            return 0
        for run in RUNS.values():
            print(f"{run.name}: {run.what}\n    python -m fer_models.train "
                  + " ".join(merged(COMMON, run.args)))
        return 0
    except JobError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
