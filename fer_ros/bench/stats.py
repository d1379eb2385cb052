"""Statistics, the machine line and the targets of the benchmark (pure helpers, no timing)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# 1-minute load average at the start above which the machine counts as shared (the bench itself
# keeps about one core busy, so the end reading is allowed one more).
BUSY_LOAD = 0.5


@dataclass(frozen=True)
class Summary:
    """Per-frame times of one system on one set of frames."""

    frames: int
    median_ms: float
    p99_ms: float
    mean_ms: float
    fps: float  # frames per second of processing: frames / total time

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(times_ms: Sequence[float]) -> Summary:
    """Median, 99th percentile (linear interpolation) and frame rate of per-frame times in ms."""
    times = np.asarray(times_ms, dtype=np.float64)
    if times.size == 0:
        raise ValueError("no frames timed")
    total = float(times.sum())
    return Summary(frames=int(times.size), median_ms=float(np.median(times)),
                   p99_ms=float(np.percentile(times, 99)), mean_ms=total / times.size,
                   fps=1000.0 * times.size / total if total > 0 else float("inf"))


def ratio(ours_fps: float | None, peer_fps: float | None) -> float | None:
    """How many times our frame rate is the peer's (None when either is missing)."""
    if not ours_fps or not peer_fps:
        return None
    return ours_fps / peer_fps


def cores() -> list[int]:
    """The CPU cores this process may run on, in order."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def last_core() -> int:
    """The last CPU core this process may run on: the bench's default core."""
    return cores()[-1]


def pin_to_core(core: int) -> None:
    """Run this process on ``core`` alone, where the OS lets a process choose (Linux)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(core: int, load_start: tuple[float, float, float], load_end: tuple[float, float, float]) -> str:
    """One line: CPU model, cores there and used, load averages at start and end, shared or not."""
    busy = is_busy(load_start, load_end)
    fmt = lambda load: "/".join(f"{v:.2f}" for v in load)  # noqa: E731
    return (f"{cpu_model()}, {os.cpu_count()} cores, 1 used (core {core}); load average (1/5/15 min) "
            f"{fmt(load_start)} at start, {fmt(load_end)} at end"
            + ("; HIGH: the machine was shared with other work, times are pessimistic" if busy else ""))


def paired_error(a: np.ndarray, b: np.ndarray) -> float | None:
    """One standard error of mean(a) - mean(b) over the same items (paired, e.g. 0/1 right or wrong
    per face by two systems): the sample standard deviation of a - b over the root of their number."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else None


def is_busy(load_start: Sequence[float], load_end: Sequence[float]) -> bool:
    return load_start[0] > BUSY_LOAD or load_end[0] > 1.0 + BUSY_LOAD


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None  # measured; None: not measured
    limit: float
    at_least: bool  # True: value >= limit passes; False: value < limit passes
    unit: str = ""
    detail: str = ""
    error: float | None = None  # one standard error of ``value``, where it is a sample's estimate

    @property
    def reached(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value < self.limit

    def line(self) -> str:
        state = {True: "reached", False: "NOT reached", None: "not measured"}[self.reached]
        sign = ">=" if self.at_least else "<"
        value = "-" if self.value is None else f"{self.value:.3g}" + (
            f" +- {self.error:.2g}" if self.error is not None else "") + self.unit
        return f"{self.name}: {value} (target {sign} {self.limit:g}{self.unit}) -> {state}" + (
            f"  [{self.detail}]" if self.detail else "")

    def as_dict(self) -> dict:
        return {**asdict(self), "reached": self.reached}
