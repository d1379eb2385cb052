"""Times one system on the benchmark's frames, in a process of its own pinned to one CPU core.

    python -m fer_ros.bench.worker --system ours_haar --result out.json [--core 1] ...

Run by ``python -m fer_ros.bench``, one process per system, so that frameworks (ONNX Runtime, Keras 3
for `fer`, tf-keras for DeepFace) never share a process and each system is loaded cold. Writes a JSON
result: per-frame times (ms) and face counts of every set of frames, or the reason it was skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

SYSTEMS = ("ours_haar", "ours_yunet", "ours_yunet320", "fer", "deepface")
LABELS = {
    "ours_haar": "ours (haar)",
    "ours_yunet": "ours (yunet)",
    "ours_yunet320": "ours (yunet 320, fast model)",
    "fer": "fer FER(mtcnn=False)",
    "deepface": "DeepFace.analyze*",
}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS")


class Skip(Exception):
    """The system cannot run here; the message says why and what to do."""


def one_thread_environment(environ=None) -> dict[str, str]:
    """``environ`` (default: this process's) with every numeric library held to one thread."""
    env = dict(os.environ if environ is None else environ)
    env.update({name: "1" for name in THREAD_VARIABLES})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _limit_tensorflow_threads() -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised: the TF_NUM_*_THREADS variables set by the parent apply


def build(system: str, yunet_model: str) -> Callable:
    """A function ``run(bgr, stamp) -> number of faces`` for ``system``; raises Skip when unavailable."""
    import cv2

    cv2.setNumThreads(1)
    if system.startswith("ours_"):
        from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

        config = PipelineConfig(num_threads=1)
        if system.startswith("ours_yunet"):
            if not Path(yunet_model).is_file():
                raise Skip(f"YuNet model {yunet_model} is absent (get face_detection_yunet_2023mar.onnx from "
                           "the OpenCV model zoo and pass --yunet-model)")
            # ours_yunet320, the real-time setting: detection on a copy at most 320 px wide (faster,
            # misses the smallest faces) and the shipped fast emotion model
            smaller = {"detection_max_side": 320, "model": "fast"} if system == "ours_yunet320" else {}
            config = PipelineConfig(detector="yunet", yunet_model=yunet_model, num_threads=1, **smaller)
        pipeline = EmotionPipeline(config)
        return lambda bgr, stamp: len(pipeline.process(bgr, stamp).faces)
    if system == "fer":
        if importlib.util.find_spec("fer") is None:
            raise Skip("the `fer` package is not installed: run `make peers`")
        _limit_tensorflow_threads()
        from fer.fer import FER

        detector = FER(mtcnn=False)  # its Haar cascade and its shipped mini-Xception weights
        return lambda bgr, stamp: len(detector.detect_emotions(bgr))
    if system == "deepface":
        if importlib.util.find_spec("deepface") is None:
            raise Skip("the `deepface` package is not installed (pip install --no-deps deepface, plus "
                       "tf-keras, pandas, gdown and werkzeug)")
        if not os.environ.get("DEEPFACE_HOME"):
            raise Skip("DEEPFACE_HOME is not set: the bench places random weights there, never the real ones")
        try:
            from deepface import DeepFace  # sets TF_USE_LEGACY_KERAS: tf-keras, not Keras 3
        except Exception as error:  # its import checks raise ValueError, ImportError, ...
            raise Skip(f"DeepFace cannot be imported: {error}") from None
        _limit_tensorflow_threads()

        def run(bgr, stamp):
            found = DeepFace.analyze(bgr, actions=["emotion"], detector_backend="opencv",
                                     enforce_detection=False, silent=True)
            return sum(1 for face in found if face.get("face_confidence", 0) > 0)  # 0: no face, whole image

        return run
    raise ValueError(f"unknown system {system!r}; choose one of {SYSTEMS}")


def time_frames(run: Callable, frames, warmup: int, clock: list[float]) -> tuple[list[float], list[int], object]:
    """Run every frame of ``frames`` (an iterable of BGR arrays), the first ``warmup`` untimed.
    Returns per-frame ms and face counts of the timed frames, and a SHA-256 of all frames."""
    from fer_ros.bench.frames import digest

    sha = digest([])
    times, faces = [], []
    for index, frame in enumerate(frames):
        digest([frame], sha)
        clock[0] += 1 / 30
        started = time.perf_counter()
        count = run(frame, clock[0])
        elapsed = (time.perf_counter() - started) * 1000
        if index >= warmup:
            times.append(elapsed)
            faces.append(int(count))
    return times, faces, sha


def work(args) -> dict:
    import psutil

    from fer_ros.bench.frames import FACE_COUNTS, SyntheticSequence, scene_photos

    result = {"system": args.system, "label": LABELS[args.system], "core": args.core}
    started = time.perf_counter()
    try:
        run = build(args.system, args.yunet_model)
    except Skip as reason:
        return {**result, "skipped": str(reason)}
    result["setup_s"] = time.perf_counter() - started  # imports and model loading
    clock = [1_700_000_000.0]  # image stamps, 1/30 s apart, never jumping back
    datasets, digests = {}, {}
    photos = scene_photos(args.scenes) if args.scenes and Path(args.scenes).is_dir() else []
    if photos:
        frames = [frame for _ in range(1 + args.scene_rounds) for _, frame in photos]
        times, faces, sha = time_frames(run, frames, len(photos), clock)  # first pass: warm-up
        datasets["scenes"] = {"times_ms": times, "faces": faces}
        result["scene_faces"] = {name: faces[i] for i, (name, _) in enumerate(photos)}
        digests["scenes"] = sha.hexdigest()
    for count in FACE_COUNTS:
        sequence = SyntheticSequence(count, args.warmup + args.frames)
        times, faces, sha = time_frames(run, sequence, args.warmup, clock)
        datasets[sequence.name] = {"times_ms": times, "faces": faces}
        digests[sequence.name] = sha.hexdigest()
    result.update(datasets=datasets, digests=digests, rss_mb=psutil.Process().memory_info().rss / 2**20)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=SYSTEMS, required=True)
    parser.add_argument("--result", required=True, help="JSON file to write")
    parser.add_argument("--core", type=int, default=0, help="CPU core to run on")
    parser.add_argument("--scenes", default="", help="folder of scene photos (none: sequences only)")
    parser.add_argument("--yunet-model", default="")
    parser.add_argument("--frames", type=int, default=150, help="timed frames per synthetic sequence")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames before them")
    parser.add_argument("--scene-rounds", type=int, default=3, help="timed passes over the scene photos")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    Path(args.result).write_text(json.dumps(work(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
