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


@dataclass
class Snapshot:
    """What happened since the previous snapshot (``period`` seconds)."""

    period: float
    counts: Counter  # received, processed, dropped_stale, rejected_<cause>
    totals: Counter  # the same since start
    mean_latency: dict[str, float] = field(default_factory=dict)  # seconds per stage
    since_last_frame: float | None = None  # seconds; None before the first frame

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

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._window[key] += n
            self._totals[key] += n
            if key == "received":
                self._last_frame = self._clock()

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
                            None if self._last_frame is None else now - self._last_frame)
            self._window, self._latency, self._window_start = Counter(), Counter(), now
            return snap


def assess(snap: Snapshot, limits: HealthThresholds) -> tuple[int, str]:
    """(level, message) for a snapshot: the worst problem found, or OK."""
    received = snap.counts["received"]
    rejected = sum(v for k, v in snap.counts.items() if k.startswith("rejected_"))
    if snap.since_last_frame is None or snap.since_last_frame > limits.stale_after:
        return STALE, "no input images (camera stopped or topic not remapped?)"
    if received and rejected / received >= limits.error_reject_ratio:
        return ERROR, f"{rejected} of {received} frames rejected: {snap.rejected()}"
    if received and snap.counts["dropped_stale"] / received >= limits.warn_drop_ratio:
        return WARN, f"{snap.counts['dropped_stale']} of {received} frames dropped: inference slower than input"
    total = snap.mean_latency.get("total", 0.0)
    if total > limits.warn_latency:
        return WARN, f"mean processing time {total * 1000:.0f} ms above {limits.warn_latency * 1000:.0f} ms"
    return OK, "processing"
