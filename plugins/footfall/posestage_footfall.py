"""posestage plugin ``footfall``: where people stand, over the day — numbers, never people.

For a shop or a museum studying where visitors go. Every frame, each person seen in it (not
those in a tracking dropout) adds one to the grid cell they stand on: the point between their
ankles, or between their hips when the feet are hidden (keypoints scoring at least
``threshold``). Two maps are kept, fixed-size arrays so memory stays flat all day:

- **counts**: whole person-frames per cell — exact, never fading; written to the CSV;
- **heat**: the same, fading with a ``half_life`` (frame time), so the overlay in the window
  and the PNG show where people stand *lately*.

Every ``every`` minutes of frame time (``frame.clock``: a replay or a test gives the same
files as the live day did), and when the plugin stops, a snapshot is written by a thread of its
own into ``folder``: ``footfall-YYYYmmdd-HHMMSS.csv`` (one row per cell, :data:`CSV_COLUMNS`)
and ``footfall-YYYYmmdd-HHMMSS.png`` (the heat over the background).

The PNG background is never a live frame, and this plugin never gets one. With ``background =
"empty"`` it asks the stage for privacy with the empty room (``posestage_privacy`` answers
``"room"``, as the anonymizer does): the stage takes the room once nobody has been in view and
shows it in the window. The room's camera pixels reach this plugin (``stage.room``), and so its
PNG, only when the scene lets them leave the window: ``[stage] room_pixels = "plugins"``.
Otherwise — and before the room was taken, in strict privacy, on a pose replay, or with
``background = "grid"`` (no privacy asked) — the PNG is drawn over a plain dark grid.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from posestage import KEYPOINT_INDEX, PluginError, Setting, hookimpl, parse_size  # noqa: E402

__version__ = "0.1.0"
PLUGIN_NAME = "footfall"
log = logging.getLogger("posestage.footfall")

ANKLES = (KEYPOINT_INDEX["left_ankle"], KEYPOINT_INDEX["right_ankle"])
HIPS = (KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"])
#: Snapshots waiting for the writer thread (a fast replay makes them faster than a disk writes
#: PNGs); beyond that one is skipped — its counts go into the next — counted and logged.
QUEUE_SNAPSHOTS = 64
#: How long unconfigure waits for the writer to finish what is queued (s).
CLOSE_SECONDS = 10.0
#: Opacity of the heat in the PNG snapshots (the window's is the ``opacity`` setting).
PNG_OPACITY = 0.85
#: The heat overlay in the window is redrawn at most this often (s of frame time).
REDRAW_SECONDS = 0.5

#: The CSV snapshot: one header line, then one row per grid cell (row-major), numbers only.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row", "grid row, 0 at the top"),
    ("col", "grid column, 0 at the left (as the window shows it: mirrored when the stage is)"),
    ("x0", "left edge of the cell in image pixels"),
    ("y0", "top edge of the cell in image pixels"),
    ("x1", "right edge (exclusive)"),
    ("y1", "bottom edge (exclusive)"),
    ("count", "person-frames standing in the cell since the previous snapshot"),
    ("total", "person-frames standing in the cell since the plugin started"),
    ("heat", "the fading map (half_life) at the snapshot, in person-frames"),
)

SETTINGS = (
    Setting(
        "grid",
        str,
        "32x24",
        "grid cells across x down, over the whole image",
    ),
    Setting(
        "threshold",
        float,
        0.3,
        "ankles (or hips) scoring below this are not used",
        min=0.0,
        max=1.0,
    ),
    Setting(
        "half_life",
        float,
        30.0,
        "minutes of frame time for the heat map to fade to half (0: never fades)",
        min=0.0,
    ),
    Setting(
        "every",
        float,
        15.0,
        "minutes of frame time between snapshots (0: only when the plugin stops)",
        min=0.0,
    ),
    Setting(
        "folder",
        str,
        "footfall",
        "folder the PNG and CSV snapshots are written to",
        live=False,
        max_length=1024,
    ),
    Setting(
        "background",
        str,
        "empty",
        "PNG background: the empty room (asks for privacy with the room; its pixels only with "
        '[stage] room_pixels = "plugins") or a plain grid (no pixels)',
        choices=("empty", "grid"),
    ),
    Setting(
        "opacity", float, 0.6, "heat overlay opacity in the window (0: hidden)", min=0.0, max=1.0
    ),
)


def standing_point(person, threshold: float) -> tuple[float, float] | None:
    """Where ``person`` stands (image pixels): between the ankles seen, else between the hips
    seen, else None."""
    scores = person.scores.tolist()
    for a, b in (ANKLES, HIPS):
        seen = [j for j in (a, b) if scores[j] >= threshold]
        if seen:
            xy = person.xy[seen].tolist()
            x = sum(p[0] for p in xy) / len(xy)
            y = sum(p[1] for p in xy) / len(xy)
            if math.isfinite(x) and math.isfinite(y):
                return x, y
    return None


def heat_colors(heat: np.ndarray, opacity: float) -> np.ndarray:
    """(rows, cols, 4) uint8 RGBA: black-red-yellow-white by heat relative to the hottest cell,
    opacity growing with it (faded-out cells vanish); empty cells transparent."""
    top = float(heat.max()) if heat.size else 0.0
    level = heat / top if top > 0 else np.zeros_like(heat)
    rgba = np.empty((*heat.shape, 4), dtype=np.uint8)
    rgba[..., 0] = np.clip(3 * level, 0, 1) * 255
    rgba[..., 1] = np.clip(3 * level - 1, 0, 1) * 255
    rgba[..., 2] = np.clip(3 * level - 2, 0, 1) * 255
    rgba[..., 3] = np.sqrt(level) * opacity * 255
    return rgba


def grid_image(width: int, height: int, cols: int, rows: int) -> np.ndarray:
    """A plain dark grid (H, W, 3): the PNG background when there is no empty room."""
    image = np.full((height, width, 3), 28, dtype=np.uint8)
    xs = (np.arange(1, cols) * width) // cols
    ys = (np.arange(1, rows) * height) // rows
    image[:, xs] = 64
    image[ys, :] = 64
    return image


def compose(background: np.ndarray, heat: np.ndarray, opacity: float) -> np.ndarray:
    """The heat map (nearest cells) blended over ``background`` (H, W, 3): the PNG."""
    height, width = background.shape[:2]
    rows, cols = heat.shape
    rgba = heat_colors(heat, opacity)
    up = rgba[(np.arange(height) * rows) // height][:, (np.arange(width) * cols) // width]
    alpha = up[..., 3:4].astype(np.float32) / 255.0
    out = background.astype(np.float32) * (1 - alpha) + up[..., :3].astype(np.float32) * alpha
    return np.rint(out).astype(np.uint8)


@dataclass(frozen=True)
class Snapshot:
    """What the writer thread gets: copies of the maps and, at most, the empty room."""

    timestamp: float
    width: int
    height: int
    count: np.ndarray
    total: np.ndarray
    heat: np.ndarray
    background: np.ndarray | None  # the stage's empty room, when the scene lets it out
    opacity: float


def write_snapshot(folder: Path, snap: Snapshot) -> tuple[Path, Path]:
    """Write ``snap`` as CSV + PNG (complete files only: written aside, then renamed)."""
    from PIL import Image

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(snap.timestamp))
    stem, n = f"footfall-{stamp}", 1
    while (folder / f"{stem}.csv").exists() or (folder / f"{stem}.png").exists():
        n += 1
        stem = f"footfall-{stamp}-{n}"
    rows, cols = snap.count.shape
    xs = (np.arange(cols + 1) * snap.width) // cols
    ys = (np.arange(rows + 1) * snap.height) // rows
    lines = [",".join(name for name, _ in CSV_COLUMNS)]
    for r in range(rows):
        for c in range(cols):
            lines.append(
                f"{r},{c},{xs[c]},{ys[r]},{xs[c + 1]},{ys[r + 1]},"
                f"{snap.count[r, c]},{snap.total[r, c]},{snap.heat[r, c]:.3f}"
            )
    csv_path, png_path = folder / f"{stem}.csv", folder / f"{stem}.png"
    part = folder / f".{stem}.csv.part"
    part.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(part, csv_path)
    if snap.background is not None and snap.background.shape[:2] == (snap.height, snap.width):
        base = snap.background
    else:
        base = grid_image(snap.width, snap.height, cols, rows)
    part = folder / f".{stem}.png.part"
    Image.fromarray(compose(base, snap.heat, snap.opacity)).save(part, format="PNG")
    os.replace(part, png_path)
    return csv_path, png_path


class Footfall:
    """The plugin object (entry point ``posestage_footfall:plugin``)."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self) -> None:
        self.cols, self.rows = 32, 24
        self.threshold = 0.3
        self.half_life = 30.0 * 60
        self.every = 15.0 * 60
        self.opacity = 0.6
        self.folder = Path("footfall")
        self.wants_room = False
        self.stage = None
        self._reset_maps()
        self._queue: queue.Queue | None = None
        self._writer: threading.Thread | None = None
        self._overlay: tuple | None = None  # (version, size, surface, area with heat)
        self._overlay_at = 0.0

    def _reset_maps(self) -> None:
        self.heat = np.zeros((self.rows, self.cols), dtype=np.float64)
        self.count = np.zeros((self.rows, self.cols), dtype=np.int64)
        self.total = np.zeros((self.rows, self.cols), dtype=np.int64)
        self.frames = 0  # frames seen
        self.observed = 0  # person-frames counted (= total.sum())
        self.clock = 0.0  # frame time seen so far (s; never runs backwards)
        self.next_snapshot = self.every
        self.last_timestamp: float | None = None
        self.size = (0, 0)
        self.snapshots = 0  # snapshots handed to the writer
        self.dropped = 0  # snapshots dropped because the writer fell behind
        self.written = 0  # snapshots written
        self.last_written: tuple[Path, Path] | None = None
        self._version = 0

    # -- hooks -----------------------------------------------------------------------------

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, stage, settings):
        try:  # (parsed here, not by Setting(parse=...): the host validates settings twice)
            self.cols, self.rows = parse_size(settings["grid"])
        except ValueError as err:
            raise PluginError(f"footfall.grid: {err}") from None
        if self.cols * self.rows > 1_000_000:
            raise PluginError(f"footfall.grid {self.cols}x{self.rows}: at most 1000000 cells")
        self.threshold = float(settings["threshold"])
        self.half_life = float(settings["half_life"]) * 60.0
        self.every = float(settings["every"]) * 60.0
        self.opacity = float(settings["opacity"])
        folder = Path(settings["folder"]).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".footfall-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise PluginError(
                f"footfall.folder {str(folder)!r} is not writable ({err.strerror or err}); "
                "choose a folder you may write to"
            ) from None
        self.folder = folder
        self.stage = stage
        self.wants_room = settings["background"] == "empty"
        self._reset_maps()
        self._overlay = None
        self._queue = queue.Queue(maxsize=QUEUE_SNAPSHOTS)
        self._writer = threading.Thread(
            target=self._write_loop, args=(self._queue,), name="posestage-footfall", daemon=True
        )
        self._writer.start()

    @hookimpl
    def posestage_settings_changed(self, settings, changed):
        """Applied live, the maps kept: everything but ``grid``, ``folder`` and ``background``
        (those start over — the counts so far are written out first, at unconfigure)."""
        if {"grid", "folder", "background"} & set(changed):
            return False
        self.threshold = float(settings["threshold"])
        self.half_life = float(settings["half_life"]) * 60.0
        every = float(settings["every"]) * 60.0
        if every != self.every:
            self.every = every
            self.next_snapshot = self.clock + every
        self.opacity = float(settings["opacity"])
        self._overlay = None
        return True

    @hookimpl
    def posestage_privacy(self):
        return "room" if self.wants_room else None  # the grid needs neither pixels nor privacy

    @hookimpl
    def posestage_frame(self, frame):
        self.size = (int(frame.width), int(frame.height))
        stamp = float(frame.clock)
        if self.last_timestamp is not None:
            dt = stamp - self.last_timestamp
            if dt > 0:  # a looping replay jumps back: no time passes then
                self.clock += dt
                if self.half_life > 0:
                    self.heat *= 0.5 ** (dt / self.half_life)
        self.last_timestamp = stamp
        self.frames += 1
        width, height = max(frame.width, 1), max(frame.height, 1)
        for person in frame.people:
            if person.missing:
                continue  # not seen in this frame: their position is a guess
            point = standing_point(person, self.threshold)
            if point is None:
                continue
            col = min(max(int(point[0] * self.cols / width), 0), self.cols - 1)
            row = min(max(int(point[1] * self.rows / height), 0), self.rows - 1)
            self.heat[row, col] += 1.0
            self.count[row, col] += 1
            self.total[row, col] += 1
            self.observed += 1
            self._version += 1
        if self.every > 0 and self.clock >= self.next_snapshot:
            while self.next_snapshot <= self.clock:
                self.next_snapshot += self.every
            self._snapshot(stamp)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        if self.opacity <= 0 or self.observed == 0:
            return
        size = canvas.get_size()
        now = float(frame.clock)
        stale = self._overlay is None or self._overlay[1] != size
        if not stale and self._overlay[0] != self._version:
            # a map of the whole day changes slowly: redrawn at most every REDRAW_SECONDS
            stale = not 0 <= now - self._overlay_at < REDRAW_SECONDS
        if stale:
            # BGRA bytes are the canvas's own pixel layout (ARGB words): blending an overlay
            # of another layout takes pygame's slow path, some 50 times slower
            bgra = np.ascontiguousarray(heat_colors(self.heat, self.opacity)[..., [2, 1, 0, 3]])
            small = pygame.image.frombuffer(bgra.tobytes(), (self.cols, self.rows), "BGRA")
            rows, cols = np.nonzero(bgra[..., 3])
            w, h = size
            area = pygame.Rect(0, 0, 0, 0)
            if rows.size:  # only the part with heat in it is blended (a floor, not the ceiling)
                x0, x1 = cols.min() * w // self.cols, (cols.max() + 1) * w // self.cols
                y0, y1 = rows.min() * h // self.rows, (rows.max() + 1) * h // self.rows
                area = pygame.Rect(x0, y0, x1 - x0, y1 - y0)
            self._overlay = (self._version, size, pygame.transform.scale(small, size), area)
            self._overlay_at = now
        _, _, overlay, area = self._overlay
        if area.width and area.height:
            canvas.blit(overlay, area.topleft, area)

    @hookimpl
    def posestage_unconfigure(self):
        box, writer = self._queue, self._writer
        self._queue = self._writer = None
        if box is None:
            return
        if self.count.any():  # the last stretch since the previous snapshot
            self._snapshot(self.last_timestamp or time.time(), box, wait=CLOSE_SECONDS)
        try:
            box.put(None, timeout=CLOSE_SECONDS)
        except queue.Full:
            log.warning("footfall: the writer is stuck; the last snapshots may be lost")
        if writer is not None:
            writer.join(CLOSE_SECONDS)
        self.stage = None

    # -- snapshots -------------------------------------------------------------------------

    def _snapshot(
        self, timestamp: float, box: queue.Queue | None = None, wait: float = 0.0
    ) -> None:
        box = box or self._queue
        if box is None:
            return
        width, height = self.size
        if width <= 0 or height <= 0:
            return
        snap = Snapshot(
            timestamp=timestamp,
            width=width,
            height=height,
            count=self.count.copy(),
            total=self.total.copy(),
            heat=self.heat.copy(),
            background=self._room(),
            opacity=PNG_OPACITY,
        )
        try:
            box.put(snap, timeout=wait) if wait else box.put_nowait(snap)
        except queue.Full:
            self.dropped += 1  # the disk is slow: keep counting, the next snapshot has it all
            log.warning("footfall: writer behind, snapshot skipped (%d so far)", self.dropped)
            return
        self.snapshots += 1
        self.count[:] = 0

    def _room(self) -> np.ndarray | None:
        """The stage's empty room, when this plugin asked for it and the scene lets its pixels
        reach plugins (``[stage] room_pixels = "plugins"``); else None (the plain grid)."""
        if not self.wants_room or self.stage is None:
            return None
        return getattr(self.stage, "room", None)

    def _write_loop(self, box: queue.Queue) -> None:
        while True:
            snap = box.get()
            if snap is None:
                return
            try:
                self.last_written = write_snapshot(self.folder, snap)
                self.written += 1
            except Exception as err:  # noqa: BLE001 - a full disk must not stop the show
                log.error("footfall: cannot write a snapshot into %s: %s", self.folder, err)


plugin = Footfall()
