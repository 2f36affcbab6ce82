"""posestage plugin ``counts``: the zones over the day, in numbers — CSV and a PNG chart.

For the museum that wants to know which areas are busy at which times, and the store that
studies how customers move: per zone of the scene's ``[room.zones]`` (and ``(stage)``, the
whole stage) and per ``interval`` of frame time (a minute by default, aligned to the clock), the
plugin counts

- ``frames``: frames observed in the interval;
- ``visitors``: different people who were in the zone during it; ``entries``: times someone
  came in;
- ``person_frames``: the sum over those frames of the people in the zone (so ``person_frames /
  frames`` is the mean occupancy), ``max_occupancy`` the most at once;
- ``dwell_seconds``: person-seconds spent in the zone (each frame counts the time to the
  previous one, at most :data:`MAX_GAP` seconds).

Everything is written into ``folder`` by a thread of its own whenever an interval closes and
when the plugin stops: ``counts-<start>.csv`` (one row per interval and zone,
:data:`CSV_COLUMNS`) and ``counts-<start>.png`` (visitors and mean occupancy per interval, one
line per zone, with axes, a legend and the zone names). Numbers only: the plugin never looks
at ``frame.image`` and no pixel of the camera reaches either file. Times are frame times
(``frame.clock``: a camera's capture time, a video's or replay's own steps), so a replayed day
writes the same intervals and dwell as the live one, at any pace.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from posestage import PluginError, Setting, hookimpl  # noqa: E402

__version__ = "0.1.0"
log = logging.getLogger("posestage.counts")

#: The whole stage's rows in the CSV (no zone can be called this: zone names have no brackets).
ALL = "(stage)"
#: A frame counts at most this many seconds of dwell (a gap in the frames is not a stay).
MAX_GAP = 1.0
CLOSE_SECONDS = 10.0
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("start", "the interval's start, seconds since the epoch (frame time)"),
    ("time", "the same as local date and time, YYYY-mm-dd HH:MM:SS"),
    ("seconds", "the interval's length"),
    ("zone", "the zone's name; (stage): the whole stage"),
    ("frames", "frames observed in the interval"),
    ("visitors", "different people in the zone during the interval"),
    ("entries", "times someone came into the zone"),
    ("person_frames", "sum over the frames of the people in the zone"),
    ("mean_occupancy", "person_frames / frames"),
    ("max_occupancy", "the most people in the zone at once"),
    ("dwell_seconds", "person-seconds spent in the zone"),
)
#: Line colours of the chart, one per zone in order (the whole stage is drawn in white).
COLOURS = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (150, 150, 150),
)  # fmt: skip

SETTINGS = (
    Setting("folder", str, "counts", "where the CSV and PNG go", live=False, max_length=1024),
    Setting("interval", float, 60.0, "seconds per row (a minute by default)", min=1, max=86400),
    Setting("chart", bool, True, "draw the PNG chart beside the CSV"),
)


@dataclass
class Interval:
    """One interval's tallies, per zone (``all`` first)."""

    start: float
    frames: int = 0
    visitors: dict[str, set] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)
    person_frames: dict[str, int] = field(default_factory=dict)
    max_occupancy: dict[str, int] = field(default_factory=dict)
    dwell: dict[str, float] = field(default_factory=dict)

    def add(self, zone: str, ids, entered: int, dt: float) -> None:
        n = len(ids)
        self.visitors.setdefault(zone, set()).update(ids)
        self.entries[zone] = self.entries.get(zone, 0) + entered
        self.person_frames[zone] = self.person_frames.get(zone, 0) + n
        self.max_occupancy[zone] = max(self.max_occupancy.get(zone, 0), n)
        self.dwell[zone] = self.dwell.get(zone, 0.0) + n * dt

    def rows(self, zones: list[str], seconds: float) -> list[list]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.start))
        out = []
        for z in zones:
            pf = self.person_frames.get(z, 0)
            out.append([
                f"{self.start:.3f}", when, f"{seconds:g}", z, self.frames,
                len(self.visitors.get(z, ())), self.entries.get(z, 0), pf,
                f"{pf / self.frames:.4f}" if self.frames else "0",
                self.max_occupancy.get(z, 0), f"{self.dwell.get(z, 0.0):.3f}",
            ])  # fmt: skip
        return out


def write_csv(path: Path, rows: list[list]) -> None:
    """The CSV, written whole to a temporary file and renamed (a reader never sees half)."""
    tmp = path.with_suffix(".csv.tmp")
    lines = [",".join(name for name, _ in CSV_COLUMNS)]
    lines += [",".join(str(v) for v in row) for row in rows]
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def draw_chart(rows: list[list], zones: list[str], size=(1200, 700)) -> pygame.Surface:
    """Visitors (top) and mean occupancy (bottom) per interval, one line per zone, axes with
    times and numbers, a legend naming the zones."""
    pygame.font.init()
    font = pygame.font.Font(None, 22)
    small = pygame.font.Font(None, 18)
    w, h = size
    surface = pygame.Surface(size)
    surface.fill((24, 24, 28))
    starts = sorted({float(r[0]) for r in rows})
    # the time axis covers every interval whole, from the first start to the last one's end
    t0 = starts[0] if starts else 0.0
    t1 = max((float(r[0]) + float(r[2]) for r in rows), default=1.0)
    t1 = t1 if t1 > t0 else t0 + 1.0
    colour = {z: (240, 240, 240) if z == ALL else COLOURS[i % len(COLOURS)]
              for i, z in enumerate(z for z in zones if z != ALL)}  # fmt: skip
    colour[ALL] = (240, 240, 240)
    left, right = 80, w - 200
    panels = (("visitors per interval", 5, (70, h // 2 - 30)),
              ("mean occupancy (people)", 8, (h // 2 + 20, h - 60)))  # fmt: skip
    clock = "%H:%M" if t1 - t0 >= 600 else "%H:%M:%S"
    title = font.render("zones over time (numbers only)", True, (230, 230, 230))
    surface.blit(title, (left, 10))
    for label, col, (top, bottom) in panels:
        values = [float(r[col]) for r in rows]
        peak = max(values + [1.0])
        step = _nice(peak / 4)
        peak = step * math.ceil(peak / step)
        pygame.draw.line(surface, (200, 200, 200), (left, top), (left, bottom))
        pygame.draw.line(surface, (200, 200, 200), (left, bottom), (right, bottom))
        v = 0.0
        while v <= peak + 1e-9:
            y = bottom - (bottom - top) * v / peak
            pygame.draw.line(surface, (60, 60, 66), (left + 1, y), (right, y))
            text = small.render(f"{v:g}", True, (200, 200, 200))
            surface.blit(text, (left - 8 - text.get_width(), y - 7))
            v += step
        surface.blit(font.render(label, True, (220, 220, 220)), (left + 8, top - 20))
        for k in range(5):  # time ticks
            t = t0 + (t1 - t0) * k / 4
            x = left + (right - left) * k / 4
            pygame.draw.line(surface, (200, 200, 200), (x, bottom), (x, bottom + 5))
            text = small.render(time.strftime(clock, time.localtime(t)), True, (200, 200, 200))
            surface.blit(text, (x - text.get_width() / 2, bottom + 8))
        for z in zones:
            pts = [(left + (right - left) * (float(r[0]) + float(r[2]) / 2 - t0) / (t1 - t0),
                    bottom - (bottom - top) * float(r[col]) / peak) for r in rows if r[3] == z]  # fmt: skip
            if len(pts) > 1:
                pygame.draw.lines(surface, colour[z], False, pts, 2)
            for p in pts:
                pygame.draw.circle(surface, colour[z], p, 3)
    day = time.strftime("%Y-%m-%d", time.localtime(t0))
    surface.blit(small.render(f"time of day ({day})", True, (200, 200, 200)), (left, h - 25))
    for i, z in enumerate(zones):  # the legend
        y = 50 + 24 * i
        pygame.draw.line(surface, colour[z], (right + 20, y + 7), (right + 50, y + 7), 3)
        surface.blit(font.render(z, True, (230, 230, 230)), (right + 58, y))
    return surface


def _nice(x: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``x``."""
    if x <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(x))
    return next(m * p for m in (1, 2, 5, 10) if m * p >= x)


class Counts:
    """The ``counts`` plugin."""

    def __init__(self) -> None:
        self._queue: queue.Queue | None = None
        self._writer: threading.Thread | None = None
        self.written = 0

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage, settings):
        folder = Path(settings["folder"]).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PluginError(
                f"counts.folder {str(folder)!r} cannot be made ({err.strerror or err}); "
                "choose a folder you may write to"
            ) from None
        self.folder = folder
        self.interval = float(settings["interval"])
        self.chart = bool(settings["chart"])
        self.zones: list[str] = [ALL] + (list(stage.floor.zones) if stage is not None else [])
        self.rows: list[list] = []
        self.current: Interval | None = None
        self.last: float | None = None
        self.stem: str | None = None
        self._queue = queue.Queue(maxsize=64)
        self._writer = threading.Thread(target=self._write_loop, args=(self._queue,),
                                        name="posestage-counts", daemon=True)  # fmt: skip
        self._writer.start()

    @hookimpl
    def posestage_frame(self, frame):
        now = float(frame.clock)
        if self.stem is None:
            self.stem = "counts-" + time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        start = math.floor(now / self.interval) * self.interval
        if self.current is not None and start != self.current.start:
            self._close()
        if self.current is None:
            self.current = Interval(start)
        dt = 0.0 if self.last is None else min(max(now - self.last, 0.0), MAX_GAP)
        self.last = now
        cur = self.current
        cur.frames += 1
        for zone in frame.zones:
            if zone.name not in self.zones:
                self.zones.append(zone.name)
        entered = {}
        for e in frame.zone_events:
            if e.kind == "enter":
                entered[e.zone] = entered.get(e.zone, 0) + 1
        cur.add(ALL, [p.id for p in frame.people], 0, dt)
        cur.entries[ALL] = cur.entries.get(ALL, 0) + sum(1 for p in frame.people if p.age == 1)
        for zone in frame.zones:
            cur.add(zone.name, zone.people, entered.get(zone.name, 0), dt)

    def _close(self) -> None:
        self.rows += self.current.rows(self.zones, self.interval)
        self.current = None
        self._post()

    def _post(self, wait: float = 0.0) -> None:
        if self._queue is None or self.stem is None:
            return
        job = (list(self.rows), list(self.zones), self.stem)
        try:
            self._queue.put(job, timeout=wait) if wait else self._queue.put_nowait(job)
        except queue.Full:
            log.warning("counts: the writer is behind; the next write has it all")

    @hookimpl
    def posestage_unconfigure(self):
        if self._queue is None:
            return
        if self.current is not None:
            self.rows += self.current.rows(self.zones, self.interval)
            self.current = None
        self._post(CLOSE_SECONDS)
        self._queue.put(None)
        self._writer.join(CLOSE_SECONDS)
        self._queue = self._writer = None

    def _write_loop(self, box: queue.Queue) -> None:
        while True:
            job = box.get()
            if job is None:
                return
            rows, zones, stem = job
            try:
                write_csv(self.folder / f"{stem}.csv", rows)
                if self.chart:
                    tmp = self.folder / f"{stem}.tmp.png"
                    pygame.image.save(draw_chart(rows, zones), str(tmp))
                    os.replace(tmp, self.folder / f"{stem}.png")
                self.written += 1
            except Exception as err:  # noqa: BLE001 - a full disk must not stop the show
                log.error("counts: cannot write into %s: %s", self.folder, err)


plugin = Counts()
