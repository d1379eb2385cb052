"""Regression bags: replay a rosbag2 through fer_node and compare what it publishes with a blessed baseline.

    python -m fer_ros.tools.regression make OUT [--storage sqlite3 mcap] [--photos NAME ...] [--no-bless]
    python -m fer_ros.tools.regression bless BAG [--topic T] [--fps 2] [--param NAME:=VALUE]
    python -m fer_ros.tools.regression run BAG [--iou 0.5] [--topic T] [--fps F] [--param NAME:=VALUE]

``make`` writes standard rosbag2 folders (sqlite3 and/or mcap) of 640x480 frames: ``scenes_<storage>``
(photos that ship with scikit-image and matplotlib plus the scene photos in ``--scenes``, letterboxed,
each repeated) and ``motion_<storage>`` (two face tiles moving across a grey frame), then blesses each.

``bless`` starts ``fer_node``, plays the bag's image topic into it (fer_ros.tools.harness) at a
fixed ``--fps`` (reliable QoS, one warm-up frame first: see ``replay.warmup_message``) and writes what
the node saw to ``<BAG>.expected.yaml`` beside the bag: per frame (matched by header stamp) the face
boxes, a ``track`` key for faces the node followed over several frames (they must keep one id), and
a ``label`` only for clear cases (confidence >= ``--label-confidence``, quality ok; in the made bags
only labels a person vouched for in ``frames.CLEAR_LABELS``). Edit the file freely: delete a label or
a track key to stop checking it, add a label you know. A bag with several image topics is replayed
from a temporary copy of the chosen one (the player replays every image topic it finds).

``run`` replays the bag the same way, with the blessed ``--fps`` and node parameters (``--param``
adds or overrides), and reports every difference from the expectations: frames without an /emotion
message, faces missing or extra, boxes below ``--iou`` overlap, id switches of a track, ids reused
by another track, label mismatches. The last line is ``PASS ...`` (exit code 0) or ``FAIL ...``
(exit code 1); exit code 2 means the regression could not be run (no node, no bag, ...).

Modules, in the order a run uses them:

- ``bag``: read a bag: its image topics, the one to replay, header stamps, a one-topic copy
- ``frames``: the frames of the made bags (photos, moving face tiles) and the labels vouched for
- ``replay``: play a bag into fer_node and collect its /emotion messages (``Observation``)
- ``expectations``: the ``<BAG>.expected.yaml`` file: ``bless`` writes it, ``load_yaml`` reads it
- ``report``: ``compare`` expectations with an observation, ``Report``, ``run_regression``
- ``__main__``: the command line
"""


class RegressionError(Exception):
    """The regression cannot be made or run (missing bag, topic or node); the message says what to do."""
