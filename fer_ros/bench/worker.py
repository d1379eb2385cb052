"""Times one system on the benchmark's frames, in a process of its own pinned to one CPU core.

    python -m fer_ros.bench.worker --system ours_defaults --result out.json [--core 1] ...

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

from fer_ros.bench.stats import pin_to_core

SYSTEMS = ("ours_defaults", "ours_yunet", "ours_yunet_opencv", "ours_yunet_fast", "ours_every_frame", "fer",
           "deepface")
LABELS = {
    "ours_defaults": "ours, defaults (haar)",
    "ours_yunet": "ours, defaults + YuNet",
    "ours_yunet_opencv": "ours, YuNet in cv2.FaceDetectorYN",
    "ours_yunet_fast": "ours, YuNet + fast",
    "ours_every_frame": "ours, previous haar",
    "fer": "fer FER(mtcnn=False)",
    "deepface": "DeepFace.analyze*",
}
# Our configurations (PipelineConfig fields) besides the defaults. ours_every_frame is the previous
# default detection: Haar at scaleFactor 1.1 over every whole frame, each face reported at once.
OURS = {
    "ours_defaults": {},
    "ours_yunet": {"yunet_model": None},  # what detector auto picks once fetch_models ran
    "ours_yunet_opencv": {"yunet_model": None},  # the same, YuNet run as before: OpenCV, not ONNX Runtime
    "ours_yunet_fast": {"yunet_model": None, "model": "fast"},
    "ours_every_frame": {"detector": "haar", "haar_scale_factor": 1.1, "haar_min_neighbors": 5,
                         "detection_interval": 0.0, "detection_thread": False, "confirm_frames": 1},
}
STILL_FRAMES, STILL_RATE = 3, 10.0  # a photo held before the camera for 0.3 s at 10 Hz (recall, false faces)
# Seconds the image clock jumps before each sequence: longer than track_max_age, so each starts as a
# new scene would (no track carries over from the last one; its faces are not "entering" a scene).
SEQUENCE_GAP = 2.0
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


def use_opencv_yunet() -> None:
    """Make detector 'yunet' OpenCV's FaceDetectorYN in this process (the worker runs one system)."""
    from fer_ros.bench.opencv_yunet import OpenCvYuNet, opencv_can_run_yunet
    from fer_ros.core.detectors import DETECTORS

    if not opencv_can_run_yunet():
        import cv2

        raise Skip(f"OpenCV {cv2.__version__} cannot run the YuNet 2023mar model (4.8 or newer can)")
    DETECTORS["yunet"] = OpenCvYuNet


def build(system: str, yunet_model: str):
    """``(run, pipeline)`` for ``system``: ``run(bgr, stamp)`` returns the face boxes it reports,
    each ``(x, y, width, height)`` (ours: followed by the face's id and label); ``pipeline`` is ours
    (None for a peer). Raises Skip when the system is unavailable."""
    import cv2

    cv2.setNumThreads(1)
    if system in OURS:
        from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig

        settings = dict(OURS[system])
        if system == "ours_yunet_opencv":
            use_opencv_yunet()
        if "yunet_model" in settings:
            if not Path(yunet_model).is_file():
                raise Skip(f"YuNet model {yunet_model} is absent (python -m fer_ros.tools.fetch_models, "
                           "then pass --yunet-model ~/.cache/fer_ros/face_detection_yunet_2023mar.onnx)")
            settings["yunet_model"] = yunet_model
        pipeline = EmotionPipeline(PipelineConfig(num_threads=1, **settings))

        def run(bgr, stamp):  # each face: its box, then its id and the label it is reported with
            return [(f.box.x, f.box.y, f.box.width, f.box.height, f.track_id, f.emotion)
                    for f in pipeline.process(bgr, stamp).faces]

        return run, pipeline
    if system == "fer":
        if importlib.util.find_spec("fer") is None:
            raise Skip("the `fer` package is not installed: run `make peers`")
        _limit_tensorflow_threads()
        from fer.fer import FER

        detector = FER(mtcnn=False)  # its Haar cascade and its shipped mini-Xception weights
        return (lambda bgr, stamp: [tuple(face["box"]) for face in detector.detect_emotions(bgr)]), None
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
            regions = [face["region"] for face in found if face.get("face_confidence", 0) > 0]  # 0: whole image
            return [(r["x"], r["y"], r["w"], r["h"]) for r in regions]

        return run, None
    raise ValueError(f"unknown system {system!r}; choose one of {SYSTEMS}")


def still_faces(run, ours: bool, photo, clock: list[float]) -> list[tuple]:
    """The faces ``run`` reports for ``photo`` held before the camera: ours sees it for
    STILL_FRAMES frames at STILL_RATE in real time (a face must be confirmed, and the background
    detection gets the time between frames, as from a camera), a peer once."""
    boxes = []
    for index in range(STILL_FRAMES if ours else 1):
        started = time.monotonic()
        clock[0] += 1 / STILL_RATE
        boxes = run(photo, clock[0])
        if index + 1 < STILL_FRAMES and ours:
            time.sleep(max(0.0, started + 1 / STILL_RATE - time.monotonic()))
    return boxes


def per_face_ms(pipeline, rounds: int = 30) -> dict:
    """Milliseconds per face of one classifier call on six crops: mirror-averaged (a face seen the
    first time) and single pass (a tracked face on every later frame)."""
    from fer_ros.bench.frames import SyntheticSequence
    from fer_ros.core.framing import crop_squares

    frame = SyntheticSequence(6, 1).frame(0)
    classifier = pipeline.classifier
    crops = crop_squares(frame, pipeline.squares(pipeline.detect(frame)), classifier.input_size)
    timings = {}
    for name, predict in (("both passes", classifier.predict), ("single pass", classifier.predict_single)):
        predict(crops)
        started = time.perf_counter()
        for _ in range(rounds):
            predict(crops)
        timings[name] = (time.perf_counter() - started) * 1000 / (rounds * max(1, len(crops)))
    return timings


def label_changes(labels: dict[str, list[str]]) -> dict:
    """How often the reported labels changed: per face id the labels of its consecutive timed
    frames; changes in all, those to or from "uncertain", and per second of face time at 30 fps."""
    changes = uncertain = frames = 0
    for sequence in labels.values():
        frames += len(sequence)
        for before, after in zip(sequence, sequence[1:]):
            if before != after:
                changes += 1
                uncertain += "uncertain" in (before, after)
    return {"changes": changes, "to_or_from_uncertain": uncertain, "face_seconds": frames / 30,
            "per_second": changes / (frames / 30) if frames else None}


def time_frames(run: Callable, frames, warmup: int, clock: list[float], step: float = 1 / 30) \
        -> tuple[list[float], list[int], object, dict]:
    """Run every frame of ``frames`` (an iterable of BGR arrays), the first ``warmup`` untimed, the
    image clock advancing ``step`` seconds a frame. Returns per-frame ms and face counts of the timed
    frames, a SHA-256 of all frames, and the labels each face id was reported with in the timed
    frames (ours only)."""
    from fer_ros.bench.frames import digest

    sha = digest([])
    times, faces, labels = [], [], {}
    for index, frame in enumerate(frames):
        digest([frame], sha)
        clock[0] += step
        started = time.perf_counter()
        found = run(frame, clock[0])
        elapsed = (time.perf_counter() - started) * 1000
        if index >= warmup:
            times.append(elapsed)
            faces.append(len(found))
            for face in found:
                if len(face) > 4:
                    labels.setdefault(face[4], []).append(face[5])
    return times, faces, sha, labels


def work(args) -> dict:
    import psutil

    from fer_ros.bench.frames import FACE_COUNTS, CutSequence, SyntheticSequence, face_matches, labelled_scenes, \
        no_face_photos, scene_photos

    result = {"system": args.system, "label": LABELS[args.system], "core": args.core}
    started = time.perf_counter()
    try:
        run, pipeline = build(args.system, args.yunet_model)
    except Skip as reason:
        return {**result, "skipped": str(reason)}
    result["setup_s"] = time.perf_counter() - started  # imports and model loading
    clock = [1_700_000_000.0]  # image stamps, 1/30 s apart, never jumping back
    datasets, digests = {}, {}
    photos = scene_photos(args.scenes) if args.scenes and Path(args.scenes).is_dir() else []
    if photos:
        frames = [frame for _ in range(1 + args.scene_rounds) for _, frame in photos]
        # first pass: warm-up; each photo a new scene shown after a pause (SEQUENCE_GAP, longer than
        # detection_interval and track_max_age): ours searches it whole on the frame, as the peers do
        times, faces, sha, _ = time_frames(run, frames, len(photos), clock, SEQUENCE_GAP)
        datasets["scenes"] = {"times_ms": times, "faces": faces}
        digests["scenes"] = sha.hexdigest()
    for sequence in [SyntheticSequence(count, args.warmup + args.frames) for count in FACE_COUNTS] + [
            CutSequence(args.warmup + 2 * args.frames)]:  # twice the frames: a cut every 1-2 s
        clock[0] += SEQUENCE_GAP
        retries = pipeline.finder.retries if pipeline is not None else 0
        times, faces, sha, labels = time_frames(run, sequence, args.warmup, clock)
        datasets[sequence.name] = {"times_ms": times, "faces": faces}
        if pipeline is not None:  # searches near a face looked at again larger (YuNet's roi_retry_size)
            datasets[sequence.name]["search_retries"] = pipeline.finder.retries - retries
        if labels:
            datasets[sequence.name]["label_changes"] = label_changes(labels)
        digests[sequence.name] = sha.hexdigest()
    if photos:  # faces reported, recall and false faces, each photo held still
        result["scene_faces"] = {name: len(still_faces(run, pipeline is not None, frame, clock))
                                 for name, frame in photos}
        labelled = labelled_scenes(args.scenes)
        found = sum(face_matches(still_faces(run, pipeline is not None, frame, clock), truth)
                    for _, frame, truth in labelled)
        result["recall"] = {"found": found, "labelled": sum(len(truth) for _, _, truth in labelled)}
    result["false_faces"] = {name: len(still_faces(run, pipeline is not None, frame, clock))
                             for name, frame in no_face_photos(args.scenes)}
    if pipeline is not None:
        result["per_face_ms"] = per_face_ms(pipeline)
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
    pin_to_core(args.core)
    Path(args.result).write_text(json.dumps(work(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
