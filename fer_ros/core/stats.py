"""Frame counters and latencies of a running pipeline, and the health verdict drawn from them.

ROS-free: the node turns a :class:`Snapshot` into diagnostic_msgs; tests use it directly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from fer_ros.core import schema

OK, WARN, ERROR, STALE = 0, 1, 2, 3  # the levels of diagnostic_msgs/DiagnosticStatus
# The level of each kind of fault (FrameStats.fault): a frame that failed inside the node (a bug, a
# classifier that raised) is an error; a background detection that failed or hangs costs no frame
# (tracked faces are still followed) but faces entering the view are not found: a warning.
FAULT_LEVELS = {"internal_error": ERROR, "detection_failed": WARN, "detection_overdue": WARN}


@dataclass
class Snapshot:
    """What happened since the previous snapshot (``period`` seconds)."""

    period: float
    counts: Counter  # received, processed, dropped_stale, rejected_<cause>, fault_<kind>
    totals: Counter  # the same since start
    mean_latency: dict[str, float] = field(default_factory=dict)  # seconds per stage
    since_last_frame: float | None = None  # seconds; None before the first frame
    faults: dict[str, str] = field(default_factory=dict)  # kind -> its last message in this window

    def fault_counts(self) -> dict[str, int]:
        """How many faults of each kind since start."""
        return {k.removeprefix("fault_"): v for k, v in self.totals.items() if k.startswith("fault_")}

    def rate(self, key: str) -> float:
        return self.counts[key] / self.period if self.period > 0 else 0.0

    def rejected(self) -> dict[str, int]:
        return {k.removeprefix("rejected_"): v for k, v in self.totals.items() if k.startswith("rejected_")}


@dataclass(frozen=True)
class HealthThresholds:
    """The node parameters of the same names; defaults from fer_ros.core.schema."""

    stale_after: float = schema.default("stale_after")  # seconds without input: STALE
    warn_drop_ratio: float = schema.default("warn_drop_ratio")  # fraction dropped as stale: WARN
    warn_latency: float = schema.default("warn_latency")  # mean seconds per processed frame: WARN
    error_reject_ratio: float = schema.default("error_reject_ratio")  # fraction rejected: ERROR


class FrameStats:
    """Thread-safe counters; ``snapshot()`` returns the window since the previous call."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._window: Counter = Counter()
        self._totals: Counter = Counter()
        self._latency: Counter = Counter()
        self._window_start = clock()
        self._last_frame: float | None = None
        self._faults: dict[str, str] = {}

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._window[key] += n
            self._totals[key] += n
            if key == "received":
                self._last_frame = self._clock()

    def fault(self, kind: str, message: str) -> None:
        """Count a fault of ``kind`` (FAULT_LEVELS) and keep ``message`` as the window's last of its kind."""
        with self._lock:
            self._window[f"fault_{kind}"] += 1
            self._totals[f"fault_{kind}"] += 1
            self._faults[kind] = message

    def add_latency(self, timings: dict[str, float]) -> None:
        with self._lock:
            self._latency.update(timings)

    @property
    def totals(self) -> Counter:
        with self._lock:
            return Counter(self._totals)

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._clock()
            processed = self._window["processed"]
            means = {k: v / processed for k, v in self._latency.items()} if processed else {}
            snap = Snapshot(now - self._window_start, self._window, Counter(self._totals), means,
                            None if self._last_frame is None else now - self._last_frame, self._faults)
            self._window, self._latency, self._window_start, self._faults = Counter(), Counter(), now, {}
            return snap


def assess(snap: Snapshot, limits: HealthThresholds) -> tuple[int, str]:
    """(level, message) for a snapshot: STALE without input, else the worst problem found and every
    problem of the window in the message (worst first), or OK."""
    received = snap.counts["received"]
    rejected = sum(v for k, v in snap.counts.items() if k.startswith("rejected_"))
    if snap.since_last_frame is None or snap.since_last_frame > limits.stale_after:
        return STALE, "no input images (camera stopped or topic not remapped?)"
    problems = []  # (level, message)
    if received and rejected / received >= limits.error_reject_ratio:
        problems.append((ERROR, f"{rejected} of {received} frames rejected: {snap.rejected()}"))
    for kind, message in snap.faults.items():  # each with its count in this window and its last message
        problems.append((FAULT_LEVELS.get(kind, WARN), f"{snap.counts[f'fault_{kind}']}x {message}"))
    if received and snap.counts["dropped_stale"] / received >= limits.warn_drop_ratio:
        problems.append((WARN, f"{snap.counts['dropped_stale']} of {received} frames dropped: inference slower "
                               "than input"))
    total = snap.mean_latency.get("total", 0.0)
    if total > limits.warn_latency:
        problems.append((WARN, f"mean processing time {total * 1000:.0f} ms above {limits.warn_latency * 1000:.0f} ms"))
    if not problems:
        return OK, "processing"
    problems.sort(key=lambda problem: -problem[0])  # stable: the order above within a level
    return problems[0][0], "; ".join(message for _, message in problems)
