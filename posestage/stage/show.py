"""What the parts of one run share: whether (and why) it stops, its fatal error, its lines.

Every part of the stage gets the same :class:`Show` in its constructor. It holds no part and
no frame: a part reports a line here, asks the run to stop here, and the main thread reads the
lines back for the overlay and the report. Any thread may call any method.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

__all__ = ["Show"]

log = logging.getLogger("posestage.stage")

#: Lines kept for the report (the newest win).
KEPT_LINES = 100


class Show:
    """One run as its parts see it.

    - :meth:`stop` ends the run (the first reason given is the one reported); :attr:`stopping`
      is the event every thread's loop watches; :attr:`wake` is set on stop and on every new
      frame (the headless display waits on it).
    - :meth:`fail` keeps the first fatal error (raised at start-up, reported after).
    - :meth:`report` keeps a line for the report and the overlay; :meth:`pin` keeps one on
      screen under a key until it is cleared (an invalid scene edit, a broken plugin file).
    """

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.stopped_by = ""
        self.fatal: BaseException | None = None
        #: the web server's address with its token, shown as a QR code with the help (H)
        self.qr: str | None = None
        self._errors: deque[str] = deque(maxlen=KEPT_LINES)
        self._fresh: deque[str] = deque(maxlen=KEPT_LINES)  # not yet on screen
        self._slow: deque[str] = deque(maxlen=KEPT_LINES)  # hooks over their time budget
        self._pinned: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- stopping ------------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        return self.stopping.is_set()

    def stop(self, reason: str = "quit") -> None:
        """End the run (any thread); the first reason is the one the report gives."""
        if not self.stopping.is_set():
            self.ending(reason)
            self.stopping.set()
            self.wake.set()

    def ending(self, reason: str) -> None:
        """Say why the run is about to end, unless a reason was given already."""
        with self._lock:
            self.stopped_by = self.stopped_by or reason

    def fail(self, err: BaseException) -> None:
        """Keep ``err`` as the run's fatal error (the first one wins)."""
        with self._lock:
            self.fatal = self.fatal or err

    # -- lines ---------------------------------------------------------------------------

    def report(self, message: str, *, on_screen: bool = True, log_it: bool = True) -> None:
        """One line for the report, the overlay (unless ``on_screen`` is False) and the log."""
        self._errors.append(message)
        if on_screen:
            self._fresh.append(message)
        if log_it:
            log.warning("%s", message)

    def slow(self, line: str) -> None:
        """A hook over its time budget: a warning for the report and the screen."""
        self._slow.append(line)
        self._fresh.append(line)

    def pin(self, key: str, message: str | None) -> None:
        """Keep ``message`` on screen under ``key`` until ``pin(key, None)``."""
        with self._lock:
            if message:
                self._pinned[key] = message
            else:
                self._pinned.pop(key, None)

    @property
    def errors(self) -> list[str]:
        """The lines reported, oldest first."""
        return list(self._errors)

    @property
    def slow_lines(self) -> list[str]:
        return list(self._slow)

    def take_fresh(self) -> list[str]:
        """The lines reported since the last call (for the overlay)."""
        out = []
        while self._fresh:
            out.append(self._fresh.popleft())
        return out

    def pinned(self) -> dict[str, str]:
        with self._lock:
            return dict(self._pinned)
