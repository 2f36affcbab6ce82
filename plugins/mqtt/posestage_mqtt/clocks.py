"""Stages' clocks lined up: each stage's capture times on the merger's clock.

How the clocks are kept together: every machine runs NTP (chrony or systemd-timesyncd, as a
Raspberry Pi does out of the box), which keeps wall clocks within a few milliseconds on a
LAN — but a board without a network time source at boot can be seconds off, and NTP may still
be converging. So the merger does not trust the stages' clocks: each message carries ``sent``,
the stage's wall clock when it left, and the merger notes its own wall clock when it arrived.
``arrived - sent`` is the clock offset plus the message's one-way delay; the *smallest* value
over the last :data:`WINDOW` seconds (the message that met no queue — NTP's minimum-delay
filter) estimates the offset, too big by at most the shortest one-way delay (a fraction of a
millisecond on a LAN, through the broker). The merger then puts each capture time on its own
clock: ``t + offset``. What it cannot compensate: that shortest delay, and a stage whose
capture time is itself wrong (its camera's driver stamps late) — the residual, measured against
a known skew in the tests, is reported per stage (:meth:`StageClock.describe`).

A stage's offset window restarts with each new session (a stage restarted), and when the
smallest value of the last :data:`RECENT` seconds is more than :data:`STEP` above the window's
(the stage's clock was stepped back, by NTP at last reaching its server): the old minimum would
otherwise put that stage's frames too early, refused as late, for the rest of the window.
"""

from __future__ import annotations

from collections import deque

__all__ = ["RECENT", "STEP", "WINDOW", "StageClock"]

#: Seconds of messages the minimum is taken over (a clock drifting a few ppm moves less than a
#: millisecond in that time; a longer window hides a step of the stage's clock for longer).
WINDOW = 30.0
#: The recent window (s) a stepped clock is told by, and the step (s) that counts.
RECENT, STEP = 2.0, 0.25


class StageClock:
    """One stage's clock offset, estimated from its messages' ``sent`` and arrival times."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = float(window)
        self._best: deque[tuple[float, float]] = deque()  # increasing minima (monotone queue)
        self._recent: deque[tuple[float, float]] = deque()  # the same over RECENT seconds
        self._first: float | None = None
        self.steps = 0  #: times the stage's clock was seen stepped back

    @staticmethod
    def _push(queue: deque, arrived: float, delta: float, window: float) -> None:
        while queue and queue[-1][1] >= delta:
            queue.pop()
        queue.append((arrived, delta))
        while queue and queue[0][0] < arrived - window:
            queue.popleft()

    def observe(self, sent: float, arrived: float) -> float:
        """Note one message; returns the offset estimate (merger clock − stage clock, s)."""
        delta = arrived - sent
        if self._first is None:
            self._first = arrived
        self._push(self._best, arrived, delta, self.window)
        self._push(self._recent, arrived, delta, RECENT)
        settled = arrived - self._first >= RECENT
        if settled and self._recent[0][1] - self._best[0][1] > STEP:  # stepped back
            self._best = deque(self._recent)
            self.steps += 1
        return self._best[0][1]

    @property
    def offset(self) -> float | None:
        """The current estimate, or None before any message."""
        return self._best[0][1] if self._best else None

    def to_merger(self, t: float) -> float:
        """A stage time on the merger's clock."""
        return t + (self.offset or 0.0)

    def describe(self) -> str:
        offset = self.offset
        return "no messages yet" if offset is None else f"clock offset {offset * 1000:+.1f} ms"
