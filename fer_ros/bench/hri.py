"""The targets of issue 29 (ROS4HRI, REP-155), measured through real processes on one core.

    . ./env.sh && . ../shared/ros4hri/env.sh        # hri_msgs: on a robot, apt install ros-<distro>-hri-msgs
    python -m fer_ros.bench.hri --json hri.json     # about 3 min

- **node**: fer_node at the defaults, pinned to one core, gets the 6-face moving sequence (640x480,
  30 Hz, fer_ros.bench.frames) stamped with the wall clock; a subscriber that knows only hri_msgs
  (fer_ros.tools.hri_graph.HriListener: as libhri, each listed face's roi, cropped and expression)
  counts the frames whose ``/humans/faces/tracked`` arrived, the (frame, listed face) pairs whose
  ``expression`` arrived, the stamp-to-expression latency and the face ids. The same node without
  ``hri_output`` runs before each such run (``--repeats`` pairs): the CPU time of the node process
  over the timed window, with and without, gives what the REP-155 output adds to its CPU share, per
  pair and over all pairs (one pair moves by several percent either way on a shared machine).
- **recognizer**: fer_hri_recognizer on the same core, fed by a stand-in for hri_face_detect
  (fer_ros.tools.hri_graph.DetectorStandIn) with the 6 faces of the same sequence, each cut by
  hri_face_detect's /cropped rule (fer_models.hri_crops) from a box around the face, 6 crops per
  frame at 30 Hz, and ``tracked`` with every frame; it counts the crops whose expression arrived and
  the stamp-to-expression latency.

The side that publishes and listens runs on the other cores. Absolute times drift on a shared
machine: the load average is printed with every run, and the CPU comparison is a ratio within one run.

    python -m fer_ros.bench.hri --quick                                  # one pair, 5 s each, no recognizer
    python -m fer_ros.bench.hri --quick --detector yunet --all-topics    # YuNet: landmarks, both crops

``--detector yunet`` runs both nodes of a pair with YuNet (``--yunet-model``), whose faces have
landmarks; ``--all-topics`` makes the listener subscribe to every per-face topic fer_node publishes
(also ``landmarks`` and ``aligned``, as libhri subscribes to them all), so that the node also fills
and cuts those, and counts the listed faces whose ``landmarks`` of that frame arrived.

    python -m fer_ros.bench.hri --framing [--faces 1000]   # needs ../shared (FER2013, YuNet); no ROS

- **framing**: how much our crop geometry matters for another detector's crops: FER2013 PublicTest
  faces placed into frames (fer_models.placement; upright for /cropped, rolled up to 25 degrees
  either way for /aligned), found and cut as hri_face_detect would (fer_models.hri_crops), classified
  by the default model from the FER2013 square the calibration puts in the crop (what
  fer_hri_recognizer does), from the whole crop taken as that square (no calibration), and from the
  face's true square (known from the placement: the best a calibration could do); and the same faces
  as 48x48 FER2013 crops (the classifier's own accuracy on them).
"""

from __future__ import annotations

import argparse
import ast
import json
import tempfile
import os
import sys
import threading
import time
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fer_ros.bench.stats import Target, cores, is_busy, last_core, machine_line, summarize
from fer_ros.node.dds import use_large_frame_transport
from fer_ros.tools.harness import Answers, Link, NodeProcess, header, raw_image
from fer_models.shared_data import FER_CSV, SCENES, YUNET

NAMESPACE = "/fer_bench_hri"
FACES = 6
RATE_HZ = 30.0


@dataclass
class Run:
    """One process measured over its timed window."""

    kind: str  # "node", "node (hri_output)" or "recognizer"
    seconds: float  # the timed window
    load: tuple[float, float, float]  # load average at its start
    published: int = 0  # frames (node) or crops (recognizer) published in the window
    answered: int = 0  # node: frames answered on /emotion; recognizer: crops with their expression
    tracked: int = 0  # frames whose /humans/faces/tracked arrived
    listed: int = 0  # (frame, face listed in its tracked message) pairs
    expressed: int = 0  # of them, with the face's expression of that frame
    landmarked: int = 0  # of them, with the face's landmarks of that frame (--all-topics)
    crops: int = 0  # cropped and aligned images received for the timed frames (--all-topics: both)
    latencies_ms: list[float] = field(default_factory=list)  # stamp -> /expression (or /emotion) arrival
    ids: list[str] = field(default_factory=list)
    cpu_share: float | None = None  # CPU seconds of the process per second of the window
    counts: dict = field(default_factory=dict)  # the process's own counts, logged at shutdown
    error: str = ""

    def summary(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        if self.latencies_ms:
            latency = summarize(self.latencies_ms)
            out.update(latency_median_ms=latency.median_ms, latency_p99_ms=latency.p99_ms)
        return out


def hri_messages():
    try:
        from hri_msgs import msg
    except ImportError as error:
        sys.exit(f"the REP-155 bench needs hri_msgs ({error}): on a robot apt install ros-<distro>-hri-msgs; "
                 "here `. ../shared/ros4hri/env.sh` after `. ./env.sh`")
    return msg


class Pacer:
    """Calls ``tick(index, stamp_ns)`` at ``rate`` Hz in a thread of its own (stamp: the wall clock just
    before), and notes the stamps of the ticks inside the timed window."""

    def __init__(self, tick, rate: float = RATE_HZ):
        self.tick, self.period = tick, 1.0 / rate
        self.timing = False
        self.timed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Pacer":
        self._thread.start()
        return self

    def _run(self) -> None:
        start, index = time.monotonic(), 0
        while not self._stop.is_set():
            delay = start + index * self.period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            now = time.time_ns()
            self.tick(index, now)
            if self.timing:
                self.timed.append(now)
            index += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def paced_run(run: Run, process: NodeProcess, link, tick, first, seconds: float, warmup: float) -> Pacer:
    """Start a Pacer calling ``tick``, time ``process`` (:func:`timed_window`: its CPU share, or the
    error, into ``run``), then stop the pacer, the process and ``link``; the pacer, with its timed stamps."""
    pacer = Pacer(tick).start()
    try:
        run.cpu_share = timed_window(process, pacer, first, seconds, warmup)
    except (RuntimeError, OSError) as failure:
        run.error = str(failure)
    finally:
        pacer.stop()
        process.stop()
        link.close()
    return pacer


def timed_window(process: NodeProcess, pacer: Pacer, first, seconds: float, warmup: float,
                 startup: float = 60.0) -> float:
    """Wait for ``first()`` (the first answer), ``warmup`` s more, then time ``seconds`` s with the
    pacer's timing on; return the process's CPU share over the window."""
    deadline = time.monotonic() + startup
    while not first():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} gave no answer:\n{process.tail(15)}")
        time.sleep(0.1)
    time.sleep(warmup)
    cpu, wall = cpu_seconds(process.pid), time.monotonic()
    pacer.timing = True
    time.sleep(seconds)
    pacer.timing = False
    share = (cpu_seconds(process.pid) - cpu) / (time.monotonic() - wall)
    pacer.stop()
    time.sleep(1.0)  # answers still on their way
    if process.poll() is not None:
        raise RuntimeError(f"{process.name} exited with {process.poll()} during the run")
    return share


def run_node(msgs, hri_output: bool, sequence, core: int, seconds: float, warmup: float,
             detector: list[str] = (), all_topics: bool = False) -> Run:
    """fer_node at the defaults (plus hri_output, and ``detector``'s parameters) on ``core``, the
    sequence at 30 Hz; ``all_topics``: the listener subscribes to every per-face topic."""
    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.msg import FaceEmotionArray
    from fer_ros.tools.hri_graph import ALL_PER_FACE, HriListener

    run = Run("node (hri_output)" if hri_output else "node", seconds, os.getloadavg())
    height, width = sequence.frame(0).shape[:2]
    link = Link("fer_bench_hri_camera")
    answers = link.listen(FaceEmotionArray, f"{NAMESPACE}/emotion", Answers())
    per_face = ALL_PER_FACE if all_topics else ("roi", "cropped", "expression")
    listener = HriListener(link, msgs, NAMESPACE, per_face=per_face) if hri_output else None
    camera = link.image_publisher(f"{NAMESPACE}/image")

    def tick(index: int, now: int) -> None:
        payload = array("B", np.ascontiguousarray(sequence.frame(index)).tobytes())
        camera.publish(raw_image(payload, width, height, header(*divmod(now, 1_000_000_000), "fer_bench_camera")))

    params = ["num_threads:=1", *detector] + (["hri_output:=true"] if hri_output else [])
    process = NodeProcess(params, namespace=NAMESPACE, env=one_thread_environment(), cpus={core})
    pacer = paced_run(run, process, link, tick, lambda: len(answers) > 0, seconds, warmup)
    run.counts = process.frame_counts() or {}
    run.published = len(pacer.timed)
    arrivals = [answers.arrival(stamp) for stamp in pacer.timed]
    run.answered = sum(a is not None for a in arrivals)
    if listener is None:
        run.latencies_ms = [(a[0] - stamp) / 1e6 for stamp, a in zip(pacer.timed, arrivals) if a]
        run.ids = list(dict.fromkeys(f.id for a in arrivals if a for f in a[1].faces))
        return run
    from fer_ros.tools.harness import stamp_ns

    def stamps(store: dict) -> dict[str, set[int]]:
        return {face_id: {stamp_ns(m.header) for _, m in received} for face_id, received in store.items()}

    landmarks, timed = stamps(listener.landmarks), set(pacer.timed)
    run.crops = sum(len(stamped & timed) for store in (listener.crops, listener.aligned)
                    for stamped in stamps(store).values())
    for stamp in pacer.timed:
        listed = listener.tracked_at(stamp)
        if listed is None:
            continue
        run.tracked += 1
        for face_id in listed:
            run.listed += 1
            found = listener.expression_at(face_id, stamp)
            if found is not None:
                run.expressed += 1
                run.latencies_ms.append((found[0] - stamp) / 1e6)
            run.landmarked += stamp in landmarks.get(face_id, ())
        run.ids += [face_id for face_id in listed if face_id not in run.ids]
    return run


def face_boxes(sequence, index: int):
    """The face in each tile of frame ``index`` as a square box: a tile (its side 0.7 of the grid
    cell's shorter side, fer_ros.bench.frames) is a head-and-shoulders crop 2.2 times the side of
    Haar's box on its face, centred (fer_ros.tools.photos.face_tiles)."""
    from fer_ros.bench.frames import grid
    from fer_ros.core.types import Box

    cols, rows = grid(sequence.faces, sequence.size)
    side = int(min(sequence.size[0] // cols, sequence.size[1] // rows) * 0.7)
    face = int(round(side / 2.2))
    return [Box(x + (side - face) // 2, y + (side - face) // 2, face, face) for x, y in sequence.positions(index)]


def run_recognizer(msgs, sequence, core: int, seconds: float, warmup: float) -> Run:
    """fer_hri_recognizer on ``core``, fed 6 hri_face_detect-style crops per frame at 30 Hz."""
    from fer_ros.bench.worker import one_thread_environment
    from fer_ros.node.conversions import bgr_to_image
    from fer_ros.tools.hri_graph import DetectorStandIn, HriListener
    from fer_models import hri_crops

    run = Run("recognizer", seconds, os.getloadavg())
    ids = [f"face{chr(ord('a') + k)}" for k in range(FACES)]
    link = Link("fer_bench_hri_detector")
    detector = DetectorStandIn(link, msgs, NAMESPACE)
    listener = HriListener(link, msgs, NAMESPACE, per_face=("expression",))

    def tick(index: int, now: int) -> None:
        frame = sequence.frame(index)
        stamped = header(*divmod(now, 1_000_000_000), "fer_bench_camera")
        for face_id, box in zip(ids, face_boxes(sequence, index)):
            detector.publish_crop(face_id, bgr_to_image(hri_crops.cropped(frame, box), stamped))
        detector.track(ids, stamped)

    detector.track(ids, header(0))  # the crop publishers exist before the recognizer starts
    process = NodeProcess(["num_threads:=1"], namespace=NAMESPACE, executable="fer_hri_recognizer",
                          env=one_thread_environment(), cpus={core})
    pacer = paced_run(run, process, link, tick, lambda: any(listener.expressions.values()), seconds, warmup)
    counts = next((line.split("crop counts: ", 1)[1] for line in process.lines if "crop counts: " in line), "{}")
    run.counts = ast.literal_eval(counts)
    sent = [(face_id, stamp) for stamp in pacer.timed for face_id in ids]
    run.published = len(sent)
    for face_id, stamp in sent:
        found = listener.expression_at(face_id, stamp)
        if found is not None:
            run.answered += 1
            run.latencies_ms.append((found[0] - stamp) / 1e6)
    run.ids = ids
    return run


def targets(runs: list[Run]) -> list[Target]:
    found = []
    pairs = [(off, on) for off, on in zip(runs, runs[1:]) if off.kind == "node" and on.kind == "node (hri_output)"]
    for i, (off, on) in enumerate(pairs, 1):
        name = f"node, 6 faces at 30 Hz, hri_output (pair {i})"
        if on.error:
            found.append(Target(f"{name}: {on.error.splitlines()[0]}", None, 0, True))
            continue
        found.append(Target(f"{name}: frames with /humans/faces/tracked", 100 * on.tracked / max(on.published, 1),
                            95, True, "%"))
        found.append(Target(f"{name}: listed faces with their /expression of that frame",
                            100 * on.expressed / max(on.listed, 1), 90, True, "%", f"{on.expressed} of {on.listed}"))
        if on.landmarked:  # YuNet, listened to with --all-topics
            found.append(Target(f"{name}: listed faces with their /landmarks of that frame",
                                100 * on.landmarked / max(on.listed, 1), 90, True, "%",
                                f"{on.landmarked} of {on.listed}; {on.crops} crops"))
        p99 = summarize(on.latencies_ms).p99_ms if on.latencies_ms else None
        found.append(Target(f"{name}: p99 image stamp to /expression", p99, 100, False, " ms"))
        found.append(Target(f"{name}: face ids", len(on.ids), FACES + 1, False, "", ", ".join(on.ids[:12])))
        if on.cpu_share and off.cpu_share:
            found.append(Target(f"{name}: CPU share added by hri_output", 100 * (on.cpu_share / off.cpu_share - 1),
                                15, False, "%", f"{on.cpu_share:.3f} with, {off.cpu_share:.3f} without"))
    measured = [(off.cpu_share, on.cpu_share) for off, on in pairs if off.cpu_share and on.cpu_share]
    if len(measured) > 1:  # one pair moves by several % on a shared machine: all pairs together
        without, with_ = sum(m[0] for m in measured), sum(m[1] for m in measured)
        found.append(Target(f"node: CPU share added by hri_output, all {len(measured)} pairs",
                            100 * (with_ / without - 1), 15, False, "%",
                            f"{with_ / len(measured):.3f} with, {without / len(measured):.3f} without, mean"))
    for run in (r for r in runs if r.kind == "recognizer"):
        if run.error:
            found.append(Target(f"recognizer: {run.error.splitlines()[0]}", None, 0, True))
            continue
        found.append(Target("recognizer, 6 crops per frame at 30 Hz: crops answered",
                            100 * run.answered / max(run.published, 1), 95, True, "%"))
        p99 = summarize(run.latencies_ms).p99_ms if run.latencies_ms else None
        found.append(Target("recognizer, 6 crops per frame at 30 Hz: p99 crop stamp to /expression", p99, 50, False,
                            " ms"))
    return found


def describe(run: Run) -> str:
    s = run.summary()
    fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    extra = (f" tracked {run.tracked}, expressions {run.expressed}/{run.listed}, landmarks {run.landmarked}, "
             f"crops {run.crops}" if run.kind == "node (hri_output)" else f" answered {run.answered}")
    return (f"{run.kind:<18} load {run.load[0]:.2f}: published {run.published},{extra}, median "
            f"{fmt(s.get('latency_median_ms'), '.1f')} ms, p99 {fmt(s.get('latency_p99_ms'), '.1f')} ms, "
            f"ids {len(run.ids)}, CPU share {fmt(run.cpu_share, '.3f')}" + (f"  ERROR {run.error}" if run.error else "")
            + f"\n{'':<18} counts {run.counts}")


def measure(msgs, sequence, args) -> list[Run]:
    """The node pairs (without, then with hri_output), then the recognizer, each printed when done."""
    runs = []
    detector = []
    if args.detector == "yunet":
        detector = ["detector:=yunet", f"yunet_model:={Path(args.yunet_model).resolve()}"]
    for _ in range(args.repeats):
        for hri_output in (False, True):
            runs.append(run_node(msgs, hri_output, sequence, args.core, args.seconds, args.warmup, detector,
                                 args.all_topics))
            print(describe(runs[-1]), flush=True)
    if args.recognizer:
        runs.append(run_recognizer(msgs, sequence, args.core, args.seconds, args.warmup))
        print(describe(runs[-1]), flush=True)
    return runs


def framing_accuracy(data: str, yunet: str, scenes: str, faces: int, seed: int = 0) -> dict:
    """Accuracy of the default model on ``faces`` PublicTest faces cut by hri_face_detect's rules,
    per crop source and framing (see the module docstring)."""
    from fer_models.calibrate_framing import CROP_ROLL
    from fer_models.data import load_split
    from fer_models import hri_crops
    from fer_models.placement import Placement, backgrounds, match, place
    from fer_ros.core.classifiers import create_classifier
    from fer_ros.core.crops import SOURCES
    from fer_ros.core.detectors import create_detector
    from fer_ros.core.framing import crop_square, load_framing, to_gray
    from fer_ros.core.types import FaceSquare
    from fer_ros.core.types import Box

    test = load_split(data, "PublicTest")
    chosen = np.sort(np.random.default_rng(seed).choice(len(test), size=min(faces, len(test)), replace=False))
    photos = backgrounds(scenes if Path(scenes).is_dir() else None)
    detector = create_detector("yunet", model_path=yunet)
    classifier = create_classifier("fer", "")
    size = hri_crops.CROP_SIZE
    whole = Box(0, 0, size, size)
    out = {}
    for source, name in SOURCES.items():
        calibrated = load_framing(name).full.square(whole)
        rng = np.random.default_rng(seed)
        batches: dict[str, list[np.ndarray]] = {"calibrated": [], "whole crop": [], "true square": [], "FER2013": []}
        labels = []
        height, width = photos[0][1].shape[:2]
        for i, k in enumerate(chosen):
            side = int(rng.integers(60, 201))
            room = int(side * 0.75)
            roll = float(rng.uniform(-CROP_ROLL, CROP_ROLL)) if source == "aligned" else 0.0
            where = Placement(float(rng.integers(room, width - room)), float(rng.integers(room, height - room)), side,
                              roll)
            frame = place(photos[i % len(photos)][1], test.images[k], where)
            boxes = hri_crops.detect(detector, frame)
            found = match(boxes, where)
            if found is None:
                continue
            box = boxes[found]
            crop = to_gray(hri_crops.cropped(frame, box) if source == "cropped" else hri_crops.aligned(frame, box))
            truth = hri_crops.framing_in_crop(where.square, box, source, (width, height))
            for framing, square in (("calibrated", calibrated), ("whole crop", FaceSquare(size / 2, size / 2, size)),
                                    ("true square", truth)):
                batches[framing].append(crop_square(crop, square, classifier.input_size))
            batches["FER2013"].append(test.images[k])
            labels.append(int(test.labels[k]))
        labels = np.array(labels)
        out[source] = {"placed": int(len(chosen)), "found": int(len(labels))}
        for framing, crops in batches.items():
            predicted = classifier.predict(np.stack(crops)).argmax(axis=1) if crops else np.zeros(0, int)
            out[source][framing] = float((predicted == labels).mean()) if len(labels) else None
    return out


def main_framing(args) -> int:
    started = time.monotonic()
    result = framing_accuracy(args.data, args.yunet_model, args.scenes, args.faces)
    print(f"accuracy of the default model on PublicTest faces cut by hri_face_detect's rules "
          f"({time.monotonic() - started:.0f} s):")
    for source, numbers in result.items():
        cells = ", ".join(f"{k} {v:.4f}" for k, v in numbers.items() if k not in ("placed", "found"))
        print(f"  /{source}: {numbers['found']} of {numbers['placed']} found; {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps({"framing": result, "config": vars(args)}, indent=1))
        print(f"wrote {args.json}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.hri", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds after the first answer")
    parser.add_argument("--repeats", type=int, default=None,
                        help="pairs of node runs, without and with hri_output (default 3; --quick: 1)")
    parser.add_argument("--no-recognizer", dest="recognizer", action="store_false", help="skip the recognizer")
    parser.add_argument("--quick", action="store_true",
                        help="one pair (--repeats) of 5 s runs after 1 s, no recognizer (about 40 s a pair)")
    parser.add_argument("--detector", choices=("haar", "yunet"), default="haar",
                        help="the nodes' detector (default haar, the node's default; yunet: faces with landmarks)")
    parser.add_argument("--all-topics", action="store_true",
                        help="the listener subscribes to every per-face topic, landmarks and aligned too, as libhri")
    parser.add_argument("--core", type=int, default=last_core(), help="CPU core of the measured process")
    parser.add_argument("--json", metavar="FILE", help="write every number to FILE")
    parser.add_argument("--framing", action="store_true",
                        help="instead: the accuracy of the recognizer's crop geometry on hri_face_detect-style crops")
    parser.add_argument("--faces", type=int, default=1000, help="--framing: PublicTest faces placed (default 1000)")
    parser.add_argument("--data", default=str(FER_CSV), help=f"--framing: FER2013 csv (default {FER_CSV})")
    parser.add_argument("--yunet-model", default=str(YUNET),
                        help=f"--framing and --detector yunet: YuNet ONNX file (default {YUNET})")
    parser.add_argument("--scenes", default=str(SCENES), help="--framing: folder of the shared background photos")
    args = parser.parse_args(argv)
    if args.framing:
        return main_framing(args)
    if args.quick:
        args.seconds, args.warmup, args.recognizer = 5.0, 1.0, False
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.detector == "yunet" and not Path(args.yunet_model).is_file():
        parser.error(f"--detector yunet needs the YuNet model: {args.yunet_model} is not a file (--yunet-model)")
    if args.core not in cores():
        parser.error(f"--core {args.core} is not one of this process's cores {cores()}")
    msgs = hri_messages()
    from fer_ros.bench.frames import SyntheticSequence

    others = set(os.sched_getaffinity(0)) - {args.core}
    if others:  # the publishing and listening side stays off the measured core
        os.sched_setaffinity(0, others)
    transport = use_large_frame_transport()
    sequence = SyntheticSequence(FACES, 1_000_000)  # rendered frame by frame, never looped
    load_start = os.getloadavg()
    topics = "every per-face topic" if args.all_topics else "roi, cropped, expression"
    print(f"fer_ros REP-155 bench: {sequence.name} 640x480 at {RATE_HZ:g} Hz, detector {args.detector}, listening to "
          f"{topics}, {args.seconds:g} s timed after "
          f"{args.warmup:g} s; measured process on core {args.core}, the rest on {sorted(others)}; {transport}; "
          f"load average now {load_start[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="fer_bench_hri_cache_") as cache:
        os.environ["FER_ROS_HOME"] = cache  # the defaults: nothing downloaded, Haar (the processes inherit it)
        runs = measure(msgs, sequence, args)
    found = targets(runs)
    print("\ntargets")
    for target in found:
        print(f"  {target.line()}")
    load_end = os.getloadavg()
    machine = machine_line(args.core, load_start, load_end)
    print(f"\nmachine: {machine}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": machine, "load_start": load_start, "load_end": load_end, "busy": is_busy(load_start, load_end),
            "config": vars(args), "runs": [run.summary() for run in runs],
            "targets": [t.as_dict() for t in found]}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
