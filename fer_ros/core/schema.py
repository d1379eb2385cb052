"""Every parameter of fer_ros, once: name, type, default, range or choices, description, and what a
change to it reconfigures.

Everything else is derived from :data:`PARAMETERS`: ``PipelineConfig`` and its validation
(fer_ros.core.config), the node's ParameterDescriptors and checks (fer_ros.node.params),
``config/fer.yaml`` and the README's parameter table (``python -m fer_ros.tools.params_file``), the
CLI flags (fer_ros.cli) and the launch arguments (launch/fer.launch.py). Adding a parameter is one
entry here.

This module imports nothing but the standard library and fer_ros.core.errors, so the launch file
can import it without OpenCV, ONNX Runtime or rclpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

from fer_ros.core.errors import ConfigError

# What a change to a parameter reconfigures (ParamSpec.reconfigures):
DETECTOR = "detector"  # builds a new face detector (the emotion model is kept)
CLASSIFIER = "classifier"  # builds a new emotion classifier (reloads the model)
TRACKING = "tracking"  # pipeline settings changed in place (tracking, smoothing, quality, detection
#                        schedule, crop): every face keeps its id and smoothed state
OUTPUT = "output"  # what the node draws and publishes (annotated image)
NODE = "node"  # the node alone: diagnostics, logging, QoS and transport of the input
RECONFIGURES = (DETECTOR, CLASSIFIER, TRACKING, OUTPUT, NODE)
PIPELINE = (DETECTOR, CLASSIFIER, TRACKING)  # the kinds held by PipelineConfig

TYPES = (bool, int, float, str)


@dataclass(frozen=True)
class ParamSpec:
    """One parameter. ``range`` is inclusive; ``off`` is one more value accepted outside it (e.g. 0
    meaning "never"); ``read_only`` parameters are set at start-up only."""

    name: str
    type: type  # bool, int, float or str
    default: object
    description: str
    reconfigures: str  # one of RECONFIGURES
    range: tuple | None = None  # (low, high) for int and float
    choices: tuple | None = None  # allowed values of a str
    off: object = None  # a value accepted besides the range
    read_only: bool = False

    @property
    def pipeline(self) -> bool:
        """Whether this is a field of PipelineConfig (the ROS-free core's settings)."""
        return self.reconfigures in PIPELINE

    def allowed(self) -> str:
        """The allowed values in words: ``[1, 100]``, ``0 (off) or [64, 8192]``, ``one of: a, b``."""
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        if self.range:
            text = f"[{self.range[0]}, {self.range[1]}]"
            return text if self.off is None else f"{self.off} (off) or {text}"
        return "true or false" if self.type is bool else "any"

    def check(self, value) -> None:
        """Raise ConfigError naming this parameter and its allowed values unless ``value`` fits."""
        if not _has_type(value, self.type):
            raise ConfigError(f"{self.name} must be {_TYPE_WORDS[self.type]} ({self.allowed()}), got {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{self.name} must be one of {list(self.choices)}, got {value!r}")
        if self.range and not self.range[0] <= value <= self.range[1] and value != self.off:
            within = f"lie in [{self.range[0]}, {self.range[1]}]"
            within = within if self.off is None else f"be {self.off} (off) or {within}"
            raise ConfigError(f"{self.name} must {within}, got {value!r}")


_TYPE_WORDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


def _has_type(value, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, Integral) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, Real) and not isinstance(value, bool)
    return isinstance(value, str)


P = ParamSpec
PARAMETERS: tuple[ParamSpec, ...] = (
    # --- face detection: a change builds a new detector
    P("detector", str, "auto",
      "Face detector: 'auto' (YuNet when its verified model file is in the cache folder or "
      "yunet_model names one, else Haar; one log line says which), 'haar' (OpenCV's cascade, no model "
      "file) or 'yunet' (CNN, faster and more accurate; `ros2 run fer_ros fetch_models` gets its file).",
      DETECTOR, choices=("auto", "haar", "yunet")),
    P("yunet_model", str, "",
      "Path of the YuNet ONNX file (face_detection_yunet_2023mar.onnx, OpenCV model zoo): needed by "
      "detector 'yunet'; with 'auto', empty means the verified copy in the cache folder.", DETECTOR),
    P("detection_threshold", float, 0.87,
      "Minimum YuNet face score (between the scores of dog faces and of small real faces in our "
      "scene photos: docs/measurements.md).", DETECTOR, range=(0.0, 1.0)),
    P("haar_min_neighbors", int, 4,
      "Haar cascade minNeighbors: higher finds fewer, surer faces (haar only).", DETECTOR, range=(1, 50)),
    P("haar_scale_factor", float, 1.15,
      "Haar cascade scaleFactor: step between the face sizes searched; larger is faster and may miss "
      "faces between steps (haar only; 1.15 with minNeighbors 4 from the speed/recall curve, "
      "docs/measurements.md). The search near a tracked face uses the finer of this and 1.15.",
      DETECTOR, range=(1.01, 2.0)),
    # --- detection schedule and crops: changed in place
    P("detection_max_side", int, 640,
      "Frames whose longest side exceeds this many pixels are downscaled for detection only (0: never).",
      TRACKING, range=(64, 8192), off=0),
    P("detection_interval", float, 1.0,
      "Seconds between full-frame detections while faces are tracked, i.e. how soon a person joining "
      "others in view is found (one entering an empty view is found at once); in between, each tracked "
      "face is re-detected near its last box (0: full detection on every frame).", TRACKING,
      range=(0.0, 10.0)),
    P("steady_detection_interval", float, 3.0,
      "Seconds between full-frame detections while the scene is steady: the last one found no face that "
      "was not tracked already, and every tracked face is found (with detection_thread; never less than "
      "detection_interval, 0: always detection_interval). A face joining a steady scene is found within "
      "this many seconds; a new face, a face lost or a scene cut makes the scene unsteady at once.",
      TRACKING, range=(0.0, 60.0)),
    P("empty_detection_interval", float, 0.5,
      "Seconds between full-frame detections while no face is tracked (an empty view), with "
      "detection_thread: a face entering an empty view is found within about this plus one detection; "
      "0: one after the other (Haar keeps most of a core busy then).", TRACKING, range=(0.0, 10.0)),
    P("detection_thread", bool, True,
      "Run the full-frame detections (the first frame's, the scheduled ones, an empty scene's, a scene "
      "cut's) in a background thread, so they never delay a frame (the first frame and a cut get a quick "
      "look on the frame, finding the larger faces at once); false: each on the frame it is due "
      "(reproducible frame by frame).",
      TRACKING),
    P("scene_change_threshold", float, 20.0,
      "Median grey-level change (0-255) of a 32x24 thumbnail from the previous frame that makes it a new "
      "scene (a cut, the camera turned: most of the picture changed at once): it is searched whole at "
      "once (at 30 Hz a quick look at 320 pixels on the frame, the full detection in the background), a "
      "face found where a tracked one was keeps its id, every other track ends; 0: every frame.",
      TRACKING, range=(0.0, 255.0)),
    P("confirm_frames", int, 2,
      "A new face is published once it has been detected in this many frames, so a false face seen in "
      "a single frame never reaches /emotion (1: publish at once).", TRACKING, range=(1, 30)),
    P("confirm_sure_at_once", bool, True,
      "A face whose detection is sure (YuNet: score at least 0.90; Haar: at least 10 overlapping raw "
      "detections; none of the false faces in our photos comes near either, docs/measurements.md) is "
      "published on the frame it is first found in, so a new scene's clear faces are answered at once; "
      "the others wait for confirm_frames (false: every face waits).", TRACKING),
    P("min_face_size", int, 32,
      "Smallest face side in source pixels; smaller faces are ignored.", TRACKING, range=(8, 4096)),
    P("max_faces", int, 20,
      "Most faces tracked and classified per frame (best score or largest first): 20 answers a group in "
      "front of the robot (Haar finds 22 faces in a collage of 24); the CPU used grows with each face.",
      TRACKING, range=(1, 100)),
    P("search_every", int, 2,
      "Each confirmed face is searched for near its last box every this many frames, spread evenly over "
      "the frames (with 2, half of the faces a frame); in between it coasts: its box is where its motion "
      "predicts, and it is not classified. The frame after a whole-frame detection searches every face "
      "(1: every face on every frame).", TRACKING, range=(1, 10)),
    P("classify_every", int, 2,
      "Each tracked face is classified every this many frames, a single face too: a frame classifies "
      "the faces just confirmed and, spread evenly, tracked / classify_every of the others, those "
      "classified longest ago; a face not classified in a frame keeps its last probabilities and "
      "smoothed emotion (1: every face on every frame).", TRACKING, range=(1, 30)),
    P("face_margin", float, 0.0,
      "Margin added around each face's crop, as a fraction of its side. The crop is the square of the "
      "face that the models learned from (FER2013's framing), mapped from each detector's box by a "
      "measured calibration (fer_ros/core/detectors/*_framing.json); 0 keeps it exactly.",
      TRACKING, range=(0.0, 1.0)),
    P("align_faces", bool, True,
      "Turn each face upright before classifying it, by the roll its eye landmarks show (YuNet; Haar "
      "gives no landmarks and finds upright faces only).", TRACKING),
    # --- emotion classifier: a change reloads the model
    P("classifier_backend", str, "fer",
      "Emotion classifier: 'fer' (this project's models in ONNX Runtime) or 'deepface' (DeepFace's "
      "emotion CNN in Keras; needs TensorFlow and its weights file, never downloaded).",
      CLASSIFIER, choices=("fer", "deepface")),
    P("model", str, "",
      "Emotion model. fer: empty or 'default' for the shipped, most accurate model; 'fast' for the "
      "shipped fast one (about a ninth of the time per face, 2.1 points less accurate); or an exported "
      ".onnx with its .json sidecar. deepface: facial_expression_model_weights.h5, empty for "
      "$DEEPFACE_HOME/.deepface/weights/ (DEEPFACE_HOME defaults to the home directory).", CLASSIFIER),
    P("num_threads", int, 1, "CPU threads for emotion inference.", CLASSIFIER, range=(1, 64)),
    # --- tracking, smoothing, quality: changed in place, faces keep their ids
    P("track_iou_threshold", float, 0.3,
      "Minimum box overlap (IoU) to keep a face's id from one frame to the next.",
      TRACKING, range=(0.01, 1.0)),
    P("track_max_age", float, 1.0,
      "Seconds a face may go unseen before its id expires.", TRACKING, range=(0.0, 60.0)),
    P("smoothing_time_constant", float, 0.5,
      "Seconds over which each face's probabilities are averaged (exponential moving average following "
      "the image stamps; 0: no smoothing).", TRACKING, range=(0.0, 10.0)),
    P("hysteresis", float, 0.1,
      "A face's label changes only when another emotion's smoothed probability leads the current one "
      "by more than this, and a face reported 'uncertain' gets its label back only once that label's "
      "probability reaches uncertain_below plus this. It trades flicker, not precision: on still faces "
      "0.05 changes labels 1.5 times as often as 0.1, 0.2 about a fifth less often, with the same precision "
      "at the same share of faces labelled (docs/accuracy.md).", TRACKING, range=(0.0, 0.99)),
    P("uncertain_below", float, 0.4,
      "Below this smoothed probability the label is reported as 'uncertain' (until it reaches this plus "
      "hysteresis). Faces watched 1 s (YuNet, default model): at 0.4, 84% get a label, right 77% of the "
      "time; 0.5: 70%, 82%; 0.6: 58%, 87%; 0: all, 71% (docs/accuracy.md).", TRACKING, range=(0.0, 1.0)),
    P("min_sharpness", float, 50.0,
      "Faces whose crop is blurrier than this (variance of the Laplacian at 48x48) are flagged "
      "'blurred' and reported 'uncertain' (0: never).", TRACKING, range=(0.0, 10000.0)),
    # --- input (node only; needs a restart)
    P("input_transport", str, "raw",
      "Subscribe to 'image' (raw, sensor_msgs/Image) or 'image/compressed' (compressed, "
      "sensor_msgs/CompressedImage).", NODE, choices=("raw", "compressed"), read_only=True),
    P("input_reliability", str, "best_effort",
      "QoS reliability of the image subscription: 'best_effort' (sensor data, REP-2003) or 'reliable'.",
      NODE, choices=("best_effort", "reliable"), read_only=True),
    P("lazy", bool, True,
      "Subscribe to the camera only while something subscribes to emotion, the annotated image or the "
      "REP-155 topics, as image_pipeline's nodes do: with nobody listening the node processes nothing "
      "and its diagnostics say it is idle; a first subscriber gets answers within about a second "
      "(false: always subscribed and processing).", NODE),
    # --- output
    P("publish_annotated", bool, True,
      "Publish emotion/annotated_image (drawn only while someone subscribes).", OUTPUT),
    P("blur_faces", bool, False,
      "Blur every face in the annotated image (privacy); labels stay readable.", OUTPUT),
    # --- ROS4HRI (REP-155)
    P("hri_output", bool, False,
      "Also publish the faces for ROS4HRI (REP-155, as libhri and pyhri read them): humans/faces/tracked "
      "and, per confirmed face, humans/faces/<id>/roi, /landmarks (YuNet's eyes, nose tip and mouth "
      "corners; nothing with Haar, which finds no landmarks), /cropped, /aligned and /expression (needs "
      "hri_msgs: apt install ros-<distro>-hri-msgs).", OUTPUT, read_only=True),
    P("hri_crop_size", int, 128,
      "Side in pixels of the colour face crops on humans/faces/<id>/cropped (the face's box fitted in, "
      "centred on black) and /aligned (the classifier's square framing, turned upright) (REP-155's "
      "/humans/faces/width and height).",
      OUTPUT, range=(16, 1024)),
    P("hri_input", str, "cropped",
      "fer_hri_recognizer only: classify each face's humans/faces/<id>/cropped or /aligned images of a "
      "ROS4HRI face detector (hri_face_detect), each with the calibration of that crop.",
      NODE, choices=("cropped", "aligned"), read_only=True),
    # --- diagnostics and logging (node only)
    P("diagnostic_period", float, 1.0, "Seconds between /diagnostics messages.",
      NODE, range=(0.1, 60.0), read_only=True),
    P("stale_after", float, 2.0, "Seconds without input images before diagnostics report STALE.",
      NODE, range=(0.1, 3600.0)),
    P("warn_drop_ratio", float, 0.5,
      "Fraction of input frames dropped as stale (inference too slow) that makes diagnostics WARN.",
      NODE, range=(0.0, 1.0)),
    P("warn_latency", float, 0.2,
      "Mean seconds from receipt to publication that makes diagnostics WARN.", NODE, range=(0.001, 60.0)),
    P("error_reject_ratio", float, 0.5,
      "Fraction of input frames rejected (bad encoding, corrupt data) that makes diagnostics ERROR.",
      NODE, range=(0.0, 1.0)),
    P("log_throttle_period", float, 5.0, "Seconds between repeated warnings of one kind.",
      NODE, range=(0.1, 3600.0)),
)
del P


@dataclass(frozen=True)
class Constant:
    """A fixed value of the detect-then-track machinery: measured once, not a parameter (a change
    needs the measurement again), but described like one, with the range in which it makes sense."""

    name: str
    value: float
    range: tuple[float, float]  # inclusive
    unit: str
    description: str


C = Constant
CONSTANTS: tuple[Constant, ...] = (
    # --- the tracking search (fer_ros.core.finder)
    C("search_span", 1.6, (1.2, 3.0), "face sizes",
      "Side of the square searched around a tracked face's predicted box: smaller squares lose fast "
      "faces, larger ones cost more (docs/measurements.md)."),
    C("arrived_search_span", 3.0, (1.6, 6.0), "face sizes",
      "Side of the square searched around a face that a background detection found in an older frame "
      "(it may have moved since): a face moving 60 px in the 10 frames the detection took is still inside."),
    C("search_size_low", 0.83, (0.5, 1.0), "x the face's size",
      "Smallest face searched for near a tracked face, relative to its side at its last whole-frame "
      "detection (with search_size_high; docs/measurements.md)."),
    C("search_size_high", 1.2, (1.0, 2.0), "x the face's size",
      "Largest face searched for near a tracked face, relative to its side at its last whole-frame detection."),
    C("nms_iou", 0.5, (0.1, 0.9), "IoU",
      "Two searches that find one face (two tracked faces close together): boxes overlapping more "
      "than this are one face, the better one is kept."),
    C("same_face_iou", 0.2, (0.0, 1.0), "IoU",
      "A face a background detection found (a few frames ago) is a tracked face when their boxes "
      "overlap more than this, or the centre of one lies inside the other."),
    C("overdue_wait", 0.2, (0.0, 2.0), "seconds",
      "Longest a frame waits for a background detection that has run for detection_interval (a core "
      "kept busy by frames starves its low-priority thread; waiting gives it the core); each detection "
      "is waited for once, so a hung detector costs one frame this much and no more."),
    C("quick_side", 320, (160, 640), "pixels",
      "Longest side of the frame in the quick whole-frame look on the frame thread after a scene cut or "
      "when every tracked face is lost (the full detection runs in the background meanwhile): a third "
      "to a half of a full look's time, finding faces of about 40 source pixels and more (docs/measurements.md)."),
    C("slow_frames_gap", 0.25, (0.05, 2.0), "seconds",
      "Frames at least this far apart by their stamps (4 Hz and slower: a slide show, a bag of photos) "
      "leave room for a whole-frame detection on the frame itself after a cut or when every face is "
      "lost; faster ones get the quick look and the detection in the background. Decided from the "
      "stamps alone, so a replayed bag is searched the same way on a slower machine; a whole 640x480 "
      "Haar look takes 40-110 ms here (docs/measurements.md)."),
    # --- the tracker (fer_ros.core.tracker)
    C("velocity_baseline", 0.1, (0.0, 1.0), "seconds",
      "Shortest time a track's velocity is measured over: over two frames a few milliseconds apart a "
      "pixel of jitter would read as a fast move."),
    # --- the finder's search schedule (fer_ros.core.finder)
    C("coast_max_gap", 0.05, (0.0, 1.0), "seconds",
      "A face coasts (search_every) only while the frames come at most this far apart (20 Hz and "
      "faster): between slower frames a face moves too far to leave unsearched."),
)
del C

BY_NAME: dict[str, ParamSpec] = {p.name: p for p in PARAMETERS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
DEFAULTS: dict[str, object] = {p.name: p.default for p in PARAMETERS}


def spec(name: str) -> ParamSpec:
    """The entry of parameter ``name``; ConfigError listing the valid names when there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown parameter {name!r}; the parameters are: {', '.join(NAMES)}") from None


def constant(name: str) -> float:
    """The value of the tracking constant ``name`` (:data:`CONSTANTS`)."""
    return next(c.value for c in CONSTANTS if c.name == name)


def default(name: str):
    return spec(name).default


def names(*kinds: str) -> frozenset[str]:
    """Names of the parameters whose change reconfigures one of ``kinds`` (e.g. DETECTOR)."""
    return frozenset(p.name for p in PARAMETERS if p.reconfigures in kinds)


def check(name: str, value) -> None:
    """Raise ConfigError unless ``value`` is allowed for parameter ``name`` (unknown names too)."""
    spec(name).check(value)


def reconfigured_by(changed) -> set[str]:
    """What a change of the parameters named in ``changed`` reconfigures (a subset of RECONFIGURES)."""
    return {spec(name).reconfigures for name in changed}


def _self_check() -> None:
    for p in PARAMETERS:
        assert p.type in TYPES and p.reconfigures in RECONFIGURES, p.name
        assert (p.range is None or p.type in (int, float)) and (p.choices is None or p.type is str), p.name
        p.check(p.default)  # every default is allowed
    for c in CONSTANTS:
        assert c.range[0] <= c.value <= c.range[1] and c.description, c.name
    assert len({c.name for c in CONSTANTS}) == len(CONSTANTS)


_self_check()
