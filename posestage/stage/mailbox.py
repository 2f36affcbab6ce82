"""The one-slot hand-over from the capture thread to the pose thread."""

from __future__ import annotations

import threading
import time
from typing import Any


class Mailbox:
    """One-slot hand-over from the capture thread to the pose thread.

    ``put(item, wait=False)`` replaces an item not yet taken (the newest frame wins; counted
    in :attr:`dropped`); ``put(item, wait=True)`` waits until the slot is empty instead, so
    nothing is dropped. :meth:`take` waits for an item. After :meth:`close` ``put`` refuses
    and ``take`` still returns the item left in the slot, then None.

    The mailbox also learns the interval between puts (the camera period), so that
    ``take(fresh_within=...)`` can skip a frame that is about to be replaced: see :meth:`take`.
    ``clock`` (``time.perf_counter``) is injectable, for tests.
    """

    def __init__(self, clock=time.perf_counter) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._item: Any = None
        self._closed = False
        self._last_put = 0.0
        self.period = 0.0  #: smoothed seconds between puts (0 until two puts)
        self.dropped = 0

    def put(self, item: Any, wait: bool = False) -> bool:
        with self._cond:
            if wait:
                while self._item is not None and not self._closed:
                    self._cond.wait()
            if self._closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            now = self._clock()
            if self._last_put:
                interval = now - self._last_put
                self.period = interval if not self.period else 0.9 * self.period + 0.1 * interval
            self._last_put = now
            self._cond.notify_all()
            return True

    def take(self, timeout: float | None = None, fresh_within: float = 0.0) -> Any:
        """The item (emptying the slot), or None after ``timeout`` or once closed and empty.

        With ``fresh_within`` (seconds): when the next put is due within that time, wait for
        it and take the newer item instead. When inference is slower than the camera, the
        waiting frame is on average half a camera period old; skipping one that is nearly a
        whole period old, for a wait of a few ms, cuts latency at little cost in throughput.
        """
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            if fresh_within > 0 and self._item is not None and self.period > 0:
                due = self._last_put + self.period - self._clock()
                if 0 < due <= fresh_within:
                    current = self._item
                    self._cond.wait_for(
                        lambda: self._item is not current or self._closed, due + fresh_within
                    )
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """Closed and empty: nothing more will come."""
        with self._cond:
            return self._closed and self._item is None
