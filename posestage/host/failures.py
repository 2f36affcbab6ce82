"""What went wrong with plugins, kept for the screen and the report: failures counted per
plugin and hook, one traceback per distinct error, errors and slow-hook notes as lines.

:class:`Failures` is the part of the :class:`~posestage.host.dispatch.Dispatcher` that keeps
them (the dispatcher is one): any thread may add a line; the main thread takes the new ones
for the overlay.
"""

from __future__ import annotations

import logging
import threading

from posestage.errors import describe_error
from posestage.host.lines import Lines

__all__ = ["Failures", "mark_real_interrupt", "real_interrupt"]

log = logging.getLogger("posestage.host")

_real_interrupt = threading.Event()


def real_interrupt() -> bool:
    """True once the process got a real Ctrl-C (SIGINT) that must stop the show.

    The stage's SIGINT handler sets it (:func:`mark_real_interrupt`) before raising
    :class:`KeyboardInterrupt`; a ``KeyboardInterrupt`` raised by plugin code otherwise is only
    that plugin's failure.
    """
    return _real_interrupt.is_set()


def mark_real_interrupt(on: bool = True) -> None:
    if on:
        _real_interrupt.set()
    else:
        _real_interrupt.clear()


class Failures:
    """Failure counts per (plugin, hook), the errors reported and the slow-hook notes."""

    max_failures: int

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], int] = {}
        self._reported: dict[tuple, list] = {}  # key → [count, first line]
        self._errors = Lines()
        self._slow = Lines()  # hooks over their time budget: warnings, not errors

    def _failed(self, name: str, hook: str, err: BaseException) -> str:
        self.report(name, hook, err)
        key = (name, hook)
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if count >= self.max_failures:
            self._failures.pop(key, None)
            return f"{count} failures in a row (last in {hook}: {describe_error(err)})"
        return ""

    def report(self, name: str, hook: str, err: BaseException) -> None:
        """Log a failure with its traceback and show it, once per plugin, hook and error;
        repeats are counted (:meth:`failure_lines`)."""
        key = (name, hook, type(err).__name__, str(err))
        seen = self._reported.get(key)
        if seen is not None:
            seen[0] += 1
            return
        if len(self._reported) > 1000:
            self._reported.clear()
        line = f"{name}: {hook} failed: {describe_error(err)}"
        self._reported[key] = [1, line]
        log.error("plugin %s: %s failed", name, hook, exc_info=err)
        self.error(line)

    def failure_lines(self) -> list[str]:
        """One line per distinct error with how often it happened (for the report)."""
        return [
            line if count == 1 else f"{line} ({count} times)"
            for count, line in self._reported.values()
        ]

    # ------------------------------------------------------------------ errors shown

    def error(self, line: str) -> None:
        self._errors.add(line)

    @property
    def errors(self) -> list[str]:
        return self._errors.lines()

    def take_errors(self) -> list[str]:
        return self._errors.take()

    def slow_note(self, line: str) -> None:
        """A hook over its time budget: a warning (logged, shown on screen), not an error — a
        busy machine is not a broken plugin. Switching a stalling plugin off is an error."""
        log.warning("%s", line)
        self._slow.add(line)

    @property
    def slow(self) -> list[str]:
        return self._slow.lines()

    def take_slow(self) -> list[str]:
        return self._slow.take()
