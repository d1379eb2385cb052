"""Emotion recognition on a photo, a video file or a camera, without ROS.

    python -m fer_ros.cli PHOTO|VIDEO|CAMERA_INDEX [--out PATH] [--max-frames N]
                          [--detector auto|haar|yunet] [--yunet-model PATH] [--model NAME|PATH] ...

Every parameter of the pipeline (fer_ros.core.schema; the node's parameters of the same names) is
a flag: ``--name-with-dashes VALUE``, with the node's default, range and description (``--help``).

A photo: one line per face on stdout (id, emotion, confidence, box x,y,width,height, top-3 scores) and
the annotated image written to ``--out`` (default ``<stem>_annotated.png`` in the current folder).
A video file or a camera (an all-digit argument is a camera index): one line per frame, with each face's
label smoothed over time by the pipeline (as in the node), or with ``--events`` one line per event (a
face appeared, its emotion changed, it left: as the node's emotion/events), and an annotated mp4
written to ``--out`` (default ``<stem>_annotated.mp4`` or ``camera<N>_annotated.mp4``). A camera runs
until Ctrl-C or ``--max-frames``. A photo is one frame, so every face found in it is reported
(``confirm_frames`` is 1 for photos: there is no second frame to confirm a face in). Exit codes: 0
done, 1 the output cannot be written, 2 the input cannot be opened or an option is invalid.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core import schema
from fer_ros.core.drawing import annotate
from fer_ros.core.emotions import EMOTIONS
from fer_ros.core.errors import ConfigError, FerError
from fer_ros.core.events import CHANGED, FaceEvent, FaceEvents
from fer_ros.core.pipeline import EmotionPipeline, PipelineConfig
from fer_ros.core.types import Box

class InputError(Exception):
    """The photo, video or camera cannot be opened (exit code 2)."""


def format_face(track_id: str, label: str, confidence: float, box: Box, scores: np.ndarray) -> str:
    """``face_0 happy 0.77 box=178,69,92,92 top3=happy:0.77,surprise:0.16,fear:0.04``."""
    top = np.argsort(scores)[::-1][:3]
    top3 = ",".join(f"{EMOTIONS[i]}:{scores[i]:.2f}" for i in top)
    return (f"{track_id} {label} {confidence:.2f} box={box.x},{box.y},{box.width},{box.height} "
            f"top3={top3}")


def run_photo(pipeline: EmotionPipeline, bgr: np.ndarray, out: Path) -> int:
    """Classify every face of one image, print one line each and write the annotated image."""
    result = pipeline.process(bgr, 0.0)
    for face in result.faces:
        print(format_face(face.track_id, face.emotion, face.confidence, face.box, face.scores))
    if not result.faces:
        print("no face found", file=sys.stderr)
    if not cv2.imwrite(str(out), annotate(bgr, result.faces)):
        print(f"error: cannot write {out} (does the folder exist, is the suffix an image format?)",
              file=sys.stderr)
        return 1
    print(f"wrote {out}", file=sys.stderr)
    return 0


def format_event(event: FaceEvent) -> str:
    """``event t=1.233s face_0 changed neutral -> happy 0.81 (neutral lasted 0.93 s)``; a ``left``
    event with its summary (time in view, its two largest shares, its strongest emotion)."""
    line = f"event t={event.stamp:.3f}s {event.face_id} {event.kind} "
    if event.kind == CHANGED:
        return line + (f"{event.previous_emotion} -> {event.emotion} {event.confidence:.2f} "
                       f"({event.previous_emotion} lasted {event.previous_duration:.2f} s)")
    line += f"{event.emotion} {event.confidence:.2f}"
    summary = event.summary
    if summary is not None:
        shares = sorted(summary.shares.items(), key=lambda item: item[1], reverse=True)[:2]
        line += (f" after {summary.seconds:.2f} s in view: " + ", ".join(f"{k} {v:.0%}" for k, v in shares)
                 + f"; valence {summary.mean_valence:+.2f}, arousal {summary.mean_arousal:+.2f}"
                 + (f"; strongest {summary.strongest} {summary.strongest_confidence:.2f} at "
                    f"t={summary.strongest_stamp:.3f}s" if summary.strongest else ""))
    return line


def run_video(pipeline: EmotionPipeline, capture: cv2.VideoCapture, out: Path, live: bool,
              max_frames: int | None, events: FaceEvents | None = None) -> int:
    """Classify every frame of ``capture``, print one line per frame (with ``events``: one per event
    instead, fer_ros.core.events; faces still in view leave at the end), write the annotated video."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and 1 <= fps <= 240 else 30.0
    writer: cv2.VideoWriter | None = None
    started, index = time.monotonic(), 0
    try:
        while max_frames is None or index < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            stamp = time.monotonic() - started if live else index / fps
            result = pipeline.process(frame, stamp)
            if events is not None:
                for event in events.update(result.faces, stamp):
                    print(format_event(event), flush=True)
            else:
                faces = "; ".join(format_face(f.track_id, f.emotion, f.confidence, f.box, f.smoothed_scores)
                                  for f in result.faces)
                print(f"frame {index} t={stamp:.3f}s {faces or 'no face'}", flush=True)
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                if not writer.isOpened():
                    print(f"error: cannot write the video {out} (does the folder exist?)", file=sys.stderr)
                    return 1
            writer.write(annotate(frame, result.faces))
            index += 1
    except KeyboardInterrupt:
        pass
    finally:
        for event in events.clear() if events is not None else []:  # the video ended: every face leaves
            print(format_event(event), flush=True)
        if writer is not None:
            writer.release()
        capture.release()
    if index == 0:
        print("error: no frame could be read from the input", file=sys.stderr)
        return 2
    print(f"wrote {index} frames to {out}", file=sys.stderr)
    return 0


def open_input(source: str) -> tuple[np.ndarray | None, cv2.VideoCapture | None]:
    """(image, None) for a photo, (None, capture) for a video file or camera index; raises InputError."""
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        if not capture.isOpened():
            raise InputError(f"cannot open camera {source} (is it connected, and is the index right?)")
        return None, capture
    path = Path(source)
    if not path.is_file():
        raise InputError(f"cannot open {source}: no such file")
    if cv2.haveImageReader(str(path)):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"cannot open {source}: the image is corrupt or truncated")
        return image, None
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"cannot open {source}: neither an image nor a video OpenCV can decode")
    return None, capture


def flag(name: str) -> str:
    """The CLI flag of pipeline parameter ``name``: ``--yunet-model`` for ``yunet_model``."""
    return "--" + name.replace("_", "-")


BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def boolean(text: str) -> bool:
    """A flag's true or false, as ROS writes them (``true``, ``false``) or as shells do (``1``, ``no``):
    argparse's ``type=bool`` would read ``false`` as true, being a non-empty string."""
    try:
        return BOOLEANS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}") from None


def add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per pipeline parameter of the schema, with its type, choices and description."""
    group = parser.add_argument_group("pipeline parameters (as the node's; default: the node's default)")
    for p in schema.PARAMETERS:
        if not p.pipeline:
            continue
        allowed = f", range {p.allowed()}" if p.range else ""
        shown = f'"{p.default}"' if p.type is str else str(p.default).lower() if p.type is bool else p.default
        group.add_argument(flag(p.name), dest=p.name, type=boolean if p.type is bool else p.type, choices=p.choices,
                           default=None, metavar=None if p.choices else "true|false" if p.type is bool
                           else p.type.__name__.upper(),
                           help=f"{p.description} Default {shown}{allowed}.".replace("%", "%%"))


def pipeline_config(args: argparse.Namespace, photo: bool) -> PipelineConfig:
    """The PipelineConfig of the flags given (the schema's defaults for the rest), validated. A photo
    is a single frame, so a face is reported at once (``confirm_frames`` 1) and the frame is searched
    whole on the spot (no ``detection_thread``: no later frame would take its faces)."""
    given = {name: getattr(args, name) for name in PipelineConfig.field_names()
             if getattr(args, name, None) is not None}
    if photo:
        given.update(confirm_frames=1, detection_thread=False)
    return PipelineConfig(**given).validate()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a photo, a video file, or a camera index (e.g. 0)")
    parser.add_argument("--out", type=Path, help="annotated output (default: <stem>_annotated.png/.mp4 "
                        "in the current folder)")
    parser.add_argument("--max-frames", type=int, help="stop a video or camera after N frames")
    parser.add_argument("--events", action="store_true", help="a video or camera: print each face's events "
                        "(appeared, changed, left with a summary of its time in view) instead of every frame")
    add_pipeline_flags(parser)
    args = parser.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        parser.error("--max-frames must be at least 1")
    for name in PipelineConfig.field_names():  # a value out of range: say which flag and what is allowed
        value = getattr(args, name)
        try:
            if value is not None:
                schema.check(name, value)
        except ConfigError as error:
            parser.error(f"argument {flag(name)}: {error}")
    return args


def default_output(source: str, photo: bool) -> Path:
    stem = f"camera{source}" if source.isdigit() else Path(source).stem
    return Path(f"{stem}_annotated.{'png' if photo else 'mp4'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        image, capture = open_input(args.source)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        pipeline = EmotionPipeline(pipeline_config(args, photo=image is not None))
    except FerError as error:
        print(f"error: {error}", file=sys.stderr)
        if capture is not None:
            capture.release()
        return 2
    out = args.out or default_output(args.source, image is not None)
    if image is not None:
        return run_photo(pipeline, image, out)
    events = FaceEvents(pipeline.config.track_max_age) if args.events else None
    return run_video(pipeline, capture, out, args.source.isdigit(), args.max_frames, events)


if __name__ == "__main__":
    sys.exit(main())
