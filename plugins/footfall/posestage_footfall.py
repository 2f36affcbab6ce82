"""posestage plugin ``footfall``: where people stand, over the day — numbers, never people.

For a shop or a museum studying where visitors go. Every frame, each person seen in it (not
those in a tracking dropout) adds one to the grid cell they stand on: the point between their
ankles, or between their hips when the feet are hidden (keypoints scoring at least
``threshold``). Two maps are kept, fixed-size arrays so memory stays flat all day:

- **counts**: whole person-frames per cell — exact, never fading; written to the CSV;
- **heat**: the same, fading with a ``half_life`` (frame time), so the overlay in the window
  and the PNG show where people stand *lately*.

Every ``every`` minutes of frame time (``frame.timestamp``: a replay or a test gives the same
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

**On the floor, in metres** (``space = "floor"``, or ``"auto"`` — the default — when the scene
has a calibrated ``[room]``): the grid is laid on the floor instead, cells of ``cell`` metres
over ``area`` (``[x0, y0, x1, y1]`` metres; by default the calibration's floor points and the
zones with half a metre around), and each person counts where they stand
(:attr:`Person.floor`). The CSV's cell edges are then metres, and the PNG is the floor from
above — :data:`FLOOR_PX` pixels a metre, a one-metre grid, a scale bar and a legend of the
heat — over the floor plan ``plan`` (an image file of the room's plan covering ``plan_area``
metres, by default ``area``) when given. No camera pixel is ever used for it, and the window's
heat overlay (a camera-image thing) is not drawn.
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

from posestage import (  # noqa: E402
    KEYPOINT_INDEX,
    PluginError,
    PosestageError,
    Setting,
    hookimpl,
    open_image,
    parse_size,
)

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
#: Pixels per metre of the floor PNG (shrunk for large rooms: at most FLOOR_PNG_MAX a side).
FLOOR_PX, FLOOR_PNG_MAX = 100, 2400

#: The CSV snapshot: one header line, then one row per grid cell (row-major), numbers only.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row", "grid row, 0 at the top"),
    ("col", "grid column, 0 at the left (as the window shows it: mirrored when the stage is)"),
    ("x0", "left edge of the cell in image pixels (metres on the floor, space = floor)"),
    ("y0", "top edge of the cell in image pixels (metres on the floor)"),
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
    Setting(
        "space",
        str,
        "auto",
        "where the grid lies: the camera image, or the floor in metres (auto: the floor when "
        "the scene's [room] is calibrated)",
        choices=("auto", "image", "floor"),
    ),
    Setting("cell", float, 0.25, "floor cells, metres a side (space = floor)", min=0.02, max=10),
    Setting("area", list, None, "[x0, y0, x1, y1] metres of floor mapped", item=float),
    Setting(
        "plan", str, None, "a floor plan image under the floor PNG", live=False, max_length=1024
    ),
    Setting("plan_area", list, None, "[x0, y0, x1, y1] metres the plan covers", item=float),
)


def floor_area(value, floor) -> tuple[float, float, float, float]:
    """``area`` as given, else the calibration's floor points and the zones, 0.5 m around."""
    if value is not None:
        if len(value) != 4 or not (value[0] < value[2] and value[1] < value[3]):
            raise PluginError("footfall.area: expected [x0, y0, x1, y1] with x0 < x1, y0 < y1")
        return tuple(float(v) for v in value)
    pts = list(floor.calibration.floor) + [p for z in floor.zones.values() for p in z]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs) - 0.5, min(ys) - 0.5, max(xs) + 0.5, max(ys) + 0.5


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
    area: tuple | None = None  # metres (x0, y0, x1, y1): a floor map
    plan: tuple | None = None  # (RGB array, its area in metres): the user's floor plan


def write_snapshot(folder: Path, snap: Snapshot) -> tuple[Path, Path]:
    """Write ``snap`` as CSV + PNG (complete files only: written aside, then renamed)."""
    from PIL import Image

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(snap.timestamp))
    stem, n = f"footfall-{stamp}", 1
    while (folder / f"{stem}.csv").exists() or (folder / f"{stem}.png").exists():
        n += 1
        stem = f"footfall-{stamp}-{n}"
    rows, cols = snap.count.shape
    if snap.area is not None:  # metres, to the millimetre
        x0, y0, x1, y1 = snap.area
        cell = (x1 - x0) / cols, (y1 - y0) / rows
        xs = [f"{x0 + c * cell[0]:.3f}" for c in range(cols + 1)]
        ys = [f"{y0 + r * cell[1]:.3f}" for r in range(rows + 1)]
    else:
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
    if snap.area is not None:
        picture = floor_picture(snap)
    elif snap.background is not None and snap.background.shape[:2] == (snap.height, snap.width):
        picture = compose(snap.background, snap.heat, snap.opacity)
    else:
        picture = compose(grid_image(snap.width, snap.height, cols, rows), snap.heat, snap.opacity)
    part = folder / f".{stem}.png.part"
    Image.fromarray(picture).save(part, format="PNG")
    os.replace(part, png_path)
    return csv_path, png_path


def floor_picture(snap: Snapshot) -> np.ndarray:
    """The floor from above (H, W, 3): the plan (or a dark floor with a one-metre grid), the
    heat, a scale bar and the heat's legend."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = snap.area
    px = min(FLOOR_PX, FLOOR_PNG_MAX / max(x1 - x0, y1 - y0))
    width, height = max(int(round((x1 - x0) * px)), 1), max(int(round((y1 - y0) * px)), 1)
    base = np.full((height, width, 3), 28, dtype=np.uint8)
    if snap.plan is not None:
        plan, (p0, q0, p1, q1) = snap.plan
        # the plan's pixel for every floor pixel (nearest), where the plan covers the floor
        fx = x0 + (np.arange(width) + 0.5) / px
        fy = y0 + (np.arange(height) + 0.5) / px
        cols = ((fx - p0) / (p1 - p0) * plan.shape[1]).astype(int)
        rows = ((fy - q0) / (q1 - q0) * plan.shape[0]).astype(int)
        ok_c = (cols >= 0) & (cols < plan.shape[1])
        ok_r = (rows >= 0) & (rows < plan.shape[0])
        base[np.ix_(ok_r, ok_c)] = plan[np.ix_(rows[ok_r], cols[ok_c])]
    else:
        for k in range(math.ceil(x0), math.floor(x1) + 1):
            base[:, min(int((k - x0) * px), width - 1)] = 64
        for k in range(math.ceil(y0), math.floor(y1) + 1):
            base[min(int((k - y0) * px), height - 1), :] = 64
    image = Image.fromarray(compose(base, snap.heat, snap.opacity))
    canvas = Image.new("RGB", (width, height + 60), (20, 20, 24))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = height + 12
    draw.line([(10, y), (10 + px, y)], fill=(240, 240, 240), width=3)  # one metre
    draw.text((16 + px, y - 6), "1 m", fill=(240, 240, 240))
    ramp = heat_colors(np.linspace(0, 1, 100)[None], 1.0)[0, :, :3]
    left = max(width - 230, 80 + px)
    for i, colour in enumerate(ramp):
        draw.line([(left + i, y - 6), (left + i, y + 6)], fill=tuple(int(c) for c in colour))
    top = float(snap.heat.max())
    draw.text((left, y + 10), f"0 … {top:.0f} person-frames (fading)", fill=(240, 240, 240))
    draw.text((10, y + 22), f"floor {x0:g}..{x1:g} m x {y0:g}..{y1:g} m", fill=(200, 200, 200))
    return np.asarray(canvas)


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
        self.area: tuple | None = None  # metres: the grid lies on the floor
        self.cell = 0.25
        self.plan: tuple | None = None
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
        floor = getattr(stage, "floor", None)
        calibrated = floor is not None and floor.calibrated
        if settings["space"] == "floor" and not calibrated:
            raise PluginError(
                "footfall.space = floor: the scene's floor is not calibrated; add [room] "
                "image and floor points (or use space = image)"
            )
        self.area = None
        if settings["space"] == "floor" or (settings["space"] == "auto" and calibrated):
            self.area = floor_area(settings["area"], floor)
            cell = float(settings["cell"])
            self.cell = cell
            self.cols = max(1, math.ceil((self.area[2] - self.area[0]) / cell))
            self.rows = max(1, math.ceil((self.area[3] - self.area[1]) / cell))
            self.plan = self._plan(settings)
        else:
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
        self.wants_room = settings["background"] == "empty" and self.area is None
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
        if {"grid", "folder", "background", "space", "cell", "area", "plan", "plan_area"} & set(
            changed
        ):
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
        stamp = float(frame.timestamp)
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
            if self.area is not None:  # on the floor, in metres
                if person.floor is None:
                    continue
                x0, y0, x1, y1 = self.area
                fx, fy = person.floor.x, person.floor.y
                if not (x0 <= fx < x1 and y0 <= fy < y1):
                    continue  # outside the mapped floor
                col = min(int((fx - x0) / self.cell), self.cols - 1)
                row = min(int((fy - y0) / self.cell), self.rows - 1)
            else:
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
        if self.opacity <= 0 or self.observed == 0 or self.area is not None:
            return  # (a floor map is not drawn over the camera's image)
        size = canvas.get_size()
        now = float(frame.timestamp)
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
            area=self.area,
            plan=self.plan if self.area is not None else None,
        )
        try:
            box.put(snap, timeout=wait) if wait else box.put_nowait(snap)
        except queue.Full:
            self.dropped += 1  # the disk is slow: keep counting, the next snapshot has it all
            log.warning("footfall: writer behind, snapshot skipped (%d so far)", self.dropped)
            return
        self.snapshots += 1
        self.count[:] = 0

    def _plan(self, settings) -> tuple | None:
        """The floor plan image (RGB array) and the metres it covers, or None."""
        if not settings["plan"]:
            return None
        try:
            plan = np.asarray(open_image(Path(settings["plan"]).expanduser(), "footfall.plan"))
        except PosestageError as err:
            raise PluginError(str(err)) from None
        area = settings["plan_area"]
        if area is None:
            return plan, self.area
        if len(area) != 4 or not (area[0] < area[2] and area[1] < area[3]):
            raise PluginError("footfall.plan_area: expected [x0, y0, x1, y1], x0 < x1, y0 < y1")
        return plan, tuple(float(v) for v in area)

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
