"""Warnings and errors throttled per kind, for the nodes (fer_node, fer_hri_recognizer)."""

from __future__ import annotations

import time
from collections.abc import Callable


class ThrottledLog:
    """``log(kind, message, error=False)`` logs ``message`` to ``logger`` unless one of the same
    ``kind`` was logged less than ``period()`` seconds ago (``period`` is read on every call, so a
    parameter change applies at once). Throttled per kind, so one cause cannot hide another (rclpy's
    ``throttle_duration_sec`` is per call site, and raises ValueError when the period changes
    between calls)."""

    def __init__(self, logger, period: Callable[[], float]):
        self._logger, self._period = logger, period
        self._last: dict[str, float] = {}  # kind -> monotonic time it was last logged

    def __call__(self, kind: str, message: str, error: bool = False) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._period():
            return
        self._last[kind] = now
        # One call site per severity: rclpy raises ValueError when a call site changes severity.
        if error:
            self._logger.error(message)
        else:
            self._logger.warning(message)
