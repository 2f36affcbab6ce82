"""The stop signals (SIGINT, SIGTERM, SIGHUP), caught from the first line of the command line.

:func:`install` is the first thing :func:`posestage.cli.main` does, so that no signal finds
the process with its default action (killed mid-start, nothing released). Until a stage takes
them over (:func:`take`), a signal is kept: for ``posestage run`` (``defer``) the stage, once
it starts, stops at once and cleanly; for any other command Ctrl-C is a ``KeyboardInterrupt``
and SIGTERM/SIGHUP end the command with :class:`SystemExit` (128 + the signal's number).
Standard library only: the command line imports this before anything heavy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["NAMES", "install", "installed", "release", "take", "uninstall"]

#: The signals that stop the show.
NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

_lock = threading.Lock()
_state: dict[str, Any] = {"target": None, "defer": False, "previous": {}}
_received: list[int] = []


def _handle(signum: int, frame: Any) -> None:
    target = _state["target"]
    if target is not None:
        target(signum, frame)
        return
    _received.append(signum)
    if _state["defer"]:
        return  # the stage about to start takes it (see take)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def install(*, defer: bool = False) -> bool:
    """Catch the stop signals now (the main thread only; False elsewhere). ``defer``: keep
    them for the stage that will :func:`take` them instead of ending the command."""
    if threading.current_thread() is not threading.main_thread():
        return False
    with _lock:
        _state["defer"] = defer
        _received.clear()
        for name in NAMES:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                previous = signal.signal(signum, _handle)
            except (ValueError, OSError):  # pragma: no cover - not allowed here
                continue
            _state["previous"].setdefault(signum, previous)
    return True


def installed() -> bool:
    """The handlers of :func:`install` are in place."""
    return any(signal.getsignal(s) is _handle for s in _state["previous"])


def take(handler: Callable[[int, Any], None]) -> list[int]:
    """Hand the signals to ``handler`` (a stage); returns those that came before, in order,
    for it to act on at once."""
    with _lock:
        _state["target"] = handler
        pending = list(_received)
        _received.clear()
    return pending


def release(handler: Callable[[int, Any], None]) -> None:
    """``handler`` no longer takes the signals (its stage has stopped): they are kept again."""
    with _lock:
        if _state["target"] is handler:
            _state["target"] = None
            _state["defer"] = True  # the run is ending: nothing left to interrupt


def uninstall() -> None:
    """Put back the handlers that were there before :func:`install`."""
    with _lock:
        for signum, previous in _state["previous"].items():
            try:
                if signal.getsignal(signum) is _handle:
                    signal.signal(signum, previous)
            except (ValueError, OSError, TypeError):  # pragma: no cover
                pass
        _state["previous"] = {}
        _state["target"] = None
        _received.clear()
