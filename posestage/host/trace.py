"""``--trace-hooks``: every hook call with its plugin, duration and thread.

For a plugin author chasing a slow frame. Each call is one line on stderr (or in ``FILE``)::

    trace  12.004581 posestage-pose  skeleton   posestage_frame        0.041 ms
    trace  12.010210 MainThread      skeleton   posestage_draw         1.204 ms
    trace  12.011530 MainThread      glow       posestage_draw        17.930 ms  FAILED

``--trace-hooks FILE.jsonl`` writes JSON Lines instead, one object per call with the fields
of :data:`FIELDS`. Times are seconds on ``time.perf_counter()`` since the trace started.
Lines are buffered and written by a thread of the trace's own, so tracing does not add file
I/O to the hooks it measures; at most :data:`QUEUE_CALLS` calls wait, later ones are counted
as ``dropped``.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import IO

#: Calls waiting for the writer before new ones are dropped.
QUEUE_CALLS = 100_000


@dataclass(frozen=True)
class HookCall:
    """One hook call: ``at`` (seconds since the trace started, when the call began),
    ``thread`` (its name), ``plugin``, ``hook``, ``ms`` (duration), ``failed`` (it raised)."""

    at: float
    thread: str
    plugin: str
    hook: str
    ms: float
    failed: bool = False


def call_of(
    started: float, plugin: str, hook: str, start: float, end: float, failed: bool
) -> HookCall:
    """One call, timed from ``started``, on the calling thread."""
    return HookCall(
        start - started,
        threading.current_thread().name,
        plugin,
        hook,
        (end - start) * 1000.0,
        failed,
    )


#: The JSON Lines record: these keys, in this order (the fields of :class:`HookCall`).
FIELDS = ("at", "thread", "plugin", "hook", "ms", "failed")


def format_text(call: HookCall) -> str:
    failed = "  FAILED" if call.failed else ""
    return (
        f"trace {call.at:10.6f} {call.thread:<15} {call.plugin:<10} {call.hook:<24}"
        f"{call.ms:8.3f} ms{failed}"
    )


def format_json(call: HookCall) -> str:
    return json.dumps(dict(zip(FIELDS, astuple(call))), separators=(",", ":"))


class HookLog:
    """Keeps every :class:`HookCall` in memory (``calls``), for tests (posestage.testing)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.calls: list[HookCall] = []

    def record(
        self, plugin: str, hook: str, start: float, end: float, failed: bool = False
    ) -> None:
        self.calls.append(call_of(self.started, plugin, hook, start, end, failed))


class HookTrace:
    """Collects :class:`HookCall` records and writes them (stderr, or ``path``)."""

    def __init__(self, path: str | Path | None = None, *, stream: IO[str] | None = None):
        self.path = Path(path) if path else None
        self.json = self.path is not None and self.path.suffix == ".jsonl"
        if self.path is not None:
            try:
                self._out: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as err:
                from posestage.errors import PosestageError

                raise PosestageError(
                    f"--trace-hooks {path}: cannot write: {err.strerror or err}"
                ) from None
            self._own = True
        else:
            self._out, self._own = stream or sys.stderr, False
        self.started = time.perf_counter()
        self.calls = 0
        self.dropped = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._write, name="posestage-trace", daemon=True)
        self._thread.start()

    def record(
        self, plugin: str, hook: str, start: float, end: float, failed: bool = False
    ) -> None:
        """One call from ``start`` to ``end`` (``time.perf_counter()``), on this thread."""
        with self._lock:
            self.calls += 1
            if self._pending >= QUEUE_CALLS:
                self.dropped += 1
                return
            self._pending += 1
        self._queue.put(call_of(self.started, plugin, hook, start, end, failed))

    def _write(self) -> None:
        fmt = format_json if self.json else format_text
        while True:
            call = self._queue.get()
            if call is None:
                break
            with self._lock:
                self._pending -= 1
            try:
                self._out.write(fmt(call) + "\n")
            except (OSError, ValueError):  # a closed pipe: stop writing, keep the show
                break
        try:
            self._out.flush()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Write what is queued, then close the file (a stream given is only flushed)."""
        if not self._thread.is_alive():
            return
        self._queue.put(None)
        self._thread.join(5.0)
        if self.dropped:
            print(
                f"posestage: trace: {self.dropped} hook calls not written (too many)",
                file=sys.stderr,
            )
        if self._own:
            self._out.close()
