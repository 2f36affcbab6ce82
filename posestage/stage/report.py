"""What a run did (:class:`StageReport`) and what ``--profile`` prints."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from posestage.stage.overlay import timing_lines

__all__ = ["STATS_WINDOW", "Rate", "StageReport", "format_profile", "percentiles"]

#: Latency / inference samples kept for the report (a bounded window, not the whole run).
STATS_WINDOW = 2000


@dataclass
class StageReport:
    """What a run did: counts, rates, latency, errors, per-plugin timings.

        ``display_fps`` is the window loop's average tick rate over the run (0 headless): events
        and chores run at that rate whatever a plugin does; ``redraws`` counts the times the
        canvas was actually drawn (on a new frame, an event, an overlay change, a plugin
        animating). ``latency_ms`` / ``inference_ms`` / ``wait_ms`` are (median, 95th percentile)
        over the last :data:`STATS_WINDOW` frames; ``wait_ms`` is how old a frame was when the pose
        thread took it (for a live source about half a camera period: the phase of the newest
        frame). ``rejected`` counts control messages refused; ``failures`` has one line per
        distinct plugin error with its count; ``errors`` the lines reported (engine, source,
        scene, plugins); ``slow`` the notes of hooks over their time budget — warnings, shown on
        screen too, not errors (a busy machine is not a broken plugin). ``missed`` counts, per
    plugin, the frames it did not get because it was still busy with an older one (a live source:
    a slow plugin gets the newest frame when it is ready). ``stopped_by`` says why the stage stopped
        ("frames", "duration", "source ended", "quit", "signal SIGTERM", "signal SIGHUP",
        "source error", "error").
    """

    frames: int = 0
    read: int = 0
    dropped: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    display_fps: float = 0.0
    latency_ms: tuple[float, float] = (0.0, 0.0)
    inference_ms: tuple[float, float] = (0.0, 0.0)
    wait_ms: tuple[float, float] = (0.0, 0.0)
    engine_errors: int = 0
    rejected: int = 0
    #: the control port's counts: datagrams, requests, replies, and ``refused`` per reason
    #: (not allowed, no token, over the rate, not OSC…); empty without a control port
    remote: dict = field(default_factory=dict)
    #: the web server's counts: requests, refused, WebSockets; empty without one
    web: dict = field(default_factory=dict)
    redraws: int = 0
    errors: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    missed: dict = field(default_factory=dict)
    #: the first scene's plugins that did not start (refused their settings, failed to load):
    #: ``posestage run`` then ends with status 1, the show having run without them
    refused: list[str] = field(default_factory=list)
    stopped_by: str = ""
    error: str | None = None
    profile: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} fps), "
            f"latency median {self.latency_ms[0]:.1f} ms, stopped by {self.stopped_by}"
        )


def format_profile(report: StageReport) -> str:
    """What ``--profile`` prints at exit: the run's rates, then per-plugin, per-hook timings."""
    lines = [
        f"stage: {report.frames} frames in {report.seconds:.2f} s = {report.fps:.1f} fps; "
        f"{report.dropped} stale frames dropped",
        f"latency ms: median {report.latency_ms[0]:.1f}, p95 {report.latency_ms[1]:.1f}; "
        f"inference ms: median {report.inference_ms[0]:.1f}, p95 {report.inference_ms[1]:.1f}",
    ]
    if report.profile:
        lines.append("plugin timings:")
        lines.extend("  " + line for line in report.profile)
    elif report.timings:
        lines.append("plugin timings:")
        lines.extend("  " + line for line in timing_lines(report.timings, limit=1000))
    else:
        lines.append("plugin timings: none recorded")
    if report.failures:
        lines.append("plugin failures:")
        lines.extend("  " + line for line in report.failures)
    return "\n".join(lines)


def percentiles(values: Iterable[float]) -> tuple[float, float]:
    """(median, 95th percentile) of ``values``; (0, 0) when there are none."""
    arr = np.fromiter(values, dtype=np.float64)
    if not arr.size:
        return (0.0, 0.0)
    return float(np.median(arr)), float(np.percentile(arr, 95))


class Rate:
    """Events per second over the last second (what the status line shows)."""

    def __init__(self, window: float = 1.0):
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> float:
        times = self._times
        times.append(now)
        while len(times) > 2 and now - times[0] > self.window:
            times.popleft()
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])
