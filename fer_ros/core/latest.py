"""A one-item mailbox between a camera callback and a slower worker: the newest frame wins."""

from __future__ import annotations

import threading
from typing import Any


class LatestSlot:
    """Holds at most one item. ``put`` replaces an unprocessed item (counted in ``dropped``), so a
    worker slower than the camera always gets the newest frame and nothing queues without bound."""

    def __init__(self):
        self._condition = threading.Condition()
        self._item: Any = None
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> bool:
        """Store ``item``; return True if it replaced one the worker never took."""
        with self._condition:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._condition.notify()
            return replaced

    def take(self, timeout: float | None = None) -> Any:
        """Wait up to ``timeout`` seconds for an item and return it (None on timeout or close)."""
        with self._condition:
            if self._item is None and not self._closed:
                self._condition.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake a waiting worker so it can exit."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
