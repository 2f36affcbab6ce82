"""Recent lines of one kind (errors, slow hooks) kept for the overlay and the report."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["Lines"]


class Lines:
    """The recent lines of one kind (at most 50) for the overlay and the report, from any
    thread: :meth:`take` returns the ones added since it was last called."""

    def __init__(self, size: int = 50) -> None:
        self._lines: deque[tuple[int, str]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0
        self._taken = 0

    def add(self, line: str) -> None:
        with self._lock:
            self._seq += 1
            self._lines.append((self._seq, line))

    def lines(self) -> list[str]:
        with self._lock:
            return [line for _, line in self._lines]

    def take(self) -> list[str]:
        with self._lock:
            new = [line for seq, line in self._lines if seq > self._taken]
            self._taken = self._seq
            return new
