"""The stage window's text, on panels that never cover the performers.

:mod:`posestage.stage.layout` splits the window: the status bar on top, the log strip at the
bottom, a side column on the right while a side panel is open; the picture gets the rest. The
:class:`Overlay` draws the text parts, on the window surface (never on the plugins' canvas), on
the main thread only, its font sized to the window (:meth:`Overlay.resize`). Its text comes from
small pure functions (:func:`status_text`, :func:`timing_lines`), testable without a window.

Side panels are :class:`Panel` objects in :attr:`Overlay.panels`, in order: the stage's own —
help (H), plugin timings (T), the OSC monitor (O) — and any other part's, added with
:meth:`Overlay.add_panel` (a key that toggles it, rows of text or a draw call given its box).

Messages go to the log strip, newest last: *sticky* ones under a key (an invalid scene edit
stays until the file is fixed: ``set_error("scene", msg)`` / ``set_error("scene", None)``;
notices such as privacy's with :meth:`Overlay.set_notice`) and *transient* ones (``add_error``,
``add_message``), which fade out over :attr:`Overlay.error_seconds`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from posestage.draw.palette import ERROR, TEXT, WARN  # noqa: E402  (the one palette)
from posestage.errors import one_line  # noqa: E402
from posestage.stage.layout import LOG_LINES, PAD, Box, Layout, layout, text_size  # noqa: E402

__all__ = [
    "HELP_LINES",
    "Overlay",
    "Panel",
    "StageStatus",
    "status_text",
    "timing_cells",
    "timing_lines",
]

#: Keys the stage answers, the first rows of the help panel (H); scenes and ports follow.
HELP_LINES: tuple[str, ...] = (
    "Esc / Q   quit",
    "F         fullscreen",
    "H         this help",
    "T         plugin timings",
    "O         OSC monitor",
    "V         the floor from above",
    "C         calibrate the floor (click each mark)",
    "1 … 9     scenes:",
)
#: The bars' and panels' backing: opaque, so nothing of the picture shows through text.
BAR = (16, 16, 16)
#: A transient message is fully visible this long, then fades until error_seconds.
FADE_AFTER = 5.0


@dataclass
class StageStatus:
    """What the status bar reports: dispatch rate, engine time, latency, people and ghosts,
    display rate, the scene, privacy; ``still``: the source is still images (no rate)."""

    fps: float = 0.0
    inference_ms: float | None = 0.0  # None: no model runs (a replayed pose stream)
    latency_ms: float = 0.0
    people: int = 0
    display_fps: float = 0.0
    scene: str = ""
    privacy: bool = False
    ghosts: int = 0  # people in a tracking dropout: drawn as ghosts, counted apart
    still: bool = False


def status_text(status: StageStatus) -> str:
    """The one-line status, in the spirit of Coral's pose_camera.

    >>> status_text(StageStatus(fps=29.84, inference_ms=31.2, latency_ms=45.04, people=2))
    'FPS 29.8 | inference 31.2 ms | latency 45.0 ms | people 2'
    >>> status_text(StageStatus(still=True, inference_ms=30.0, people=1, ghosts=1))
    'still | inference 30.0 ms | latency 0.0 ms | people 1 (+1 ghost)'
    """
    people = f"people {status.people}"
    if status.ghosts:
        people += f" (+{status.ghosts} ghost{'s' if status.ghosts > 1 else ''})"
    parts = [
        "still" if status.still else f"FPS {status.fps:.1f}",
        "replay" if status.inference_ms is None else f"inference {status.inference_ms:.1f} ms",
        f"latency {status.latency_ms:.1f} ms",
        people,
    ]
    if status.display_fps:
        parts.append(f"display {status.display_fps:.0f} fps")
    if status.scene:
        parts.append(f"scene {status.scene}")
    if status.privacy:
        parts.append("PRIVACY")
    return " | ".join(parts)


def _field(value: object, name: str) -> float | None:
    got = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return float(got) if isinstance(got, (int, float)) else None


def timing_cells(timings: Mapping[str, object], limit: int = 12) -> list[list[str]]:
    """One row of cells per plugin, slowest first: name, mean, max, calls, missed."""
    rows = []
    for name, value in timings.items():
        if isinstance(value, (int, float)):
            rows.append((float(value), [name, f"{float(value):.2f} ms"]))
            continue
        mean = _field(value, "mean_ms")
        if mean is None:
            rows.append((0.0, [name, str(value)]))
            continue
        cells = [name, f"{mean:.2f} ms"]
        peak, calls, missed = (_field(value, n) for n in ("max_ms", "calls", "missed"))
        if peak is not None:
            cells.append(f"max {peak:.2f} ms")
        if calls is not None:
            cells.append(f"{int(calls)} calls")
        if missed:
            cells.append(f"missed {int(missed)}")
        rows.append((mean, cells))
    rows.sort(key=lambda r: -r[0])
    return [cells for _, cells in rows[:limit]]


def timing_lines(timings: Mapping[str, object], limit: int = 12) -> list[str]:
    """One line per plugin, slowest first: ``name  mean ms  max ms  calls`` (``--profile``).

    ``timings`` maps a plugin name to either a number (mean ms) or an object / mapping with
    ``mean_ms``/``max_ms``/``calls`` (whatever the plugin host keeps); unknown shapes print as
    their ``str``.
    """
    rows = []
    for name, value in timings.items():
        if isinstance(value, (int, float)):
            rows.append((float(value), f"{name:<18} {float(value):7.2f} ms"))
            continue
        mean = _field(value, "mean_ms")
        if mean is None:
            rows.append((0.0, f"{name:<18} {value}"))
            continue
        peak, calls, missed = (_field(value, n) for n in ("max_ms", "calls", "missed"))
        text = f"{name:<18} {mean:7.2f} ms"
        if peak is not None:
            text += f"  max {peak:7.2f} ms"
        if calls is not None:
            text += f"  {int(calls)} calls"
        if missed:
            text += f"  missed {int(missed)}"
        rows.append((mean, text))
    rows.sort(key=lambda r: -r[0])
    return [text for _, text in rows[:limit]]


@dataclass
class Panel:
    """A side panel: ``key`` (a pygame key) toggles it; ``rows`` gives its text (each a string
    whose columns are split at two or more spaces, or a list of cells), or ``draw`` paints it
    into the box it is given (``height``: the pixels it asks for). Closed until toggled."""

    name: str
    key: int | None = None
    rows: Callable[[], Iterable[str | list[str]]] | None = None
    draw: Callable[[Any, Box], None] | None = None
    height: int = 200
    open: bool = False
    title: str = ""


@dataclass
class _Message:
    text: str
    color: tuple
    since: float = 0.0
    sticky: bool = False
    extra: dict = field(default_factory=dict)


class Overlay:
    """The status bar (always), the log strip (messages, fading) and the side panels."""

    #: How long a transient message stays on screen (it fades over the last seconds).
    error_seconds = 8.0
    #: At most this many transient messages are kept (newest last).
    max_errors = 5

    def __init__(self, font_size: int = 16):
        if not pygame.font.get_init():
            pygame.font.init()
        self._size = 0
        self._font: pygame.font.Font = pygame.font.Font(None, max(int(font_size * 1.25), 8))
        self._cache: dict[tuple[str, tuple], pygame.Surface] = {}
        self._sticky: dict[str, _Message] = {}
        self._transient: list[_Message] = []
        self.help_rows: Callable[[], Iterable[str | list[str]]] = lambda: HELP_LINES
        self.timings: Mapping[str, object] = {}
        self.panels: list[Panel] = [
            Panel("help", pygame.K_h, lambda: self.help_rows(), title="help"),
            Panel("timings", pygame.K_t, self._timing_rows, title="plugin timings"),
        ]

    # -- panels --------------------------------------------------------------------------

    def add_panel(self, panel: Panel) -> Panel:
        """Add a side panel (after the stage's own); its key toggles it."""
        self.panels.append(panel)
        return panel

    def panel(self, name: str) -> Panel | None:
        return next((p for p in self.panels if p.name == name), None)

    def toggle(self, key: int) -> bool:
        """Open or close the panel ``key`` toggles; False when no panel has that key."""
        for p in self.panels:
            if p.key is not None and p.key == key:
                p.open = not p.open
                return True
        return False

    @property
    def keys(self) -> frozenset[int]:
        return frozenset(p.key for p in self.panels if p.key is not None)

    @property
    def side_open(self) -> bool:
        return any(p.open for p in self.panels)

    def _flag(name: str):  # noqa: N805 - a property factory for the stage's own panels
        def get(self) -> bool:
            return self.panel(name).open

        def set_(self, value: bool) -> None:
            self.panel(name).open = bool(value)

        return property(get, set_)

    show_help = _flag("help")
    show_timings = _flag("timings")
    del _flag

    def _timing_rows(self) -> list[list[str]]:
        return timing_cells(self.timings) or [["no plugin timings"]]

    # -- messages ------------------------------------------------------------------------

    def set_error(self, key: str, message: str | None) -> None:
        """Show ``message`` (an error) until it is cleared with ``set_error(key, None)``."""
        self._set(key, message, ERROR)

    def set_notice(self, key: str, message: str | None) -> None:
        """Show ``message`` (not an error: the privacy notice) until cleared."""
        self._set(key, message, TEXT)

    def _set(self, key: str, message: str | None, color: tuple) -> None:
        if message:
            self._sticky[key] = _Message(message, color, sticky=True)
        else:
            self._sticky.pop(key, None)

    def add_error(self, message: str, now: float | None = None) -> None:
        """Show ``message`` for :attr:`error_seconds` (the same text is not repeated)."""
        self.add_message(message, ERROR, now)

    def add_message(self, message: str, color: tuple = TEXT, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._transient = [m for m in self._transient if m.text != message]
        self._transient.append(_Message(message, color, now))
        del self._transient[: -self.max_errors]

    def _messages(self, now: float) -> list[_Message]:
        self._transient = [m for m in self._transient if now - m.since < self.error_seconds]
        return list(self._sticky.values()) + self._transient

    def errors(self, now: float | None = None) -> list[str]:
        """Messages on screen now: sticky ones first, then transient ones still there."""
        now = time.monotonic() if now is None else now
        return [m.text for m in self._messages(now)]

    def fading(self, now: float | None = None) -> bool:
        """True while a message is fading (the window redraws to show it)."""
        now = time.monotonic() if now is None else now
        return any(now - m.since > FADE_AFTER for m in self._messages(now) if not m.sticky)

    # -- sizes ---------------------------------------------------------------------------

    def resize(self, window_height: int) -> None:
        """The font for a window ``window_height`` tall (:func:`~posestage.stage.layout.text_size`)."""
        size = text_size(window_height)
        if size != self._size:
            self._size = size
            self._font = pygame.font.Font(None, size)
            self._cache.clear()

    @property
    def line(self) -> int:
        return self._font.get_linesize()

    def layout(self, window: tuple[int, int], canvas: tuple[int, int]) -> Layout:
        """Where everything goes in ``window`` showing a ``canvas``, with this font."""
        return layout(window, canvas, self.line, side=self.side_open)

    # -- drawing -------------------------------------------------------------------------

    def _text(self, text: str, color: tuple) -> pygame.Surface:
        key = (text, color)
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) > 256:  # the status line changes every frame: bound the cache
                self._cache.clear()
            surf = self._font.render(text, True, color)
            self._cache[key] = surf
        return surf

    def _fit(self, text: str, width: int) -> str:
        """``text`` cut to ``width`` pixels, with an ellipsis when cut."""
        if self._font.size(text)[0] <= width:
            return text
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self._font.size(text[:mid] + "…")[0] <= width:
                low = mid
            else:
                high = mid - 1
        return text[:low] + "…"

    def _table(self, surface: pygame.Surface, rows: Iterable, x: int, y: int,
               color: tuple = TEXT, width: int | None = None) -> int:  # fmt: skip
        """Rows with their columns aligned (split at two or more spaces, or given as cells;
        the font is proportional, so padding with spaces cannot line them up), on a dark box
        at (x, y), cut to ``width``; returns the y below it."""
        cells = []
        for row in rows:
            parts = re.split(r"\s{2,}", row.strip()) if isinstance(row, str) else list(row)
            cells.append([self._text(str(c), color) for c in parts])
        if not cells:
            return y
        gap = self._font.size("  ")[0]
        columns = max(len(r) for r in cells)
        widths = [
            max((r[i].get_width() for r in cells if i < len(r)), default=0) for i in range(columns)
        ]
        line = max((s.get_height() for r in cells for s in r), default=self.line)
        box_w = sum(widths) + gap * (columns - 1) + 2 * PAD
        if width is not None:
            box_w = min(box_w, width)
        area = pygame.Rect(x, y, box_w, line * len(cells) + 2 * PAD)
        surface.fill(BAR, area)
        clip = surface.get_clip()
        surface.set_clip(area.clip(clip) if clip else area)
        for n, row in enumerate(cells):
            cx = x + PAD
            for i, s in enumerate(row):
                surface.blit(s, (cx, y + PAD + n * line))
                cx += widths[i] + gap
        surface.set_clip(clip)
        return area.bottom + 2

    def _panel(self, surface: pygame.Surface, lines: Iterable[tuple[str, tuple]], x: int, y: int):
        """Lines, each in its colour, on a dark box at (x, y); returns the y below it."""
        rendered = [self._text(text, color) for text, color in lines if text]
        if not rendered:
            return y
        width = max(s.get_width() for s in rendered) + 2 * PAD
        height = sum(s.get_height() for s in rendered) + 2 * PAD
        surface.fill(BAR, (x, y, width, height))
        cy = y + PAD
        for s in rendered:
            surface.blit(s, (x + PAD, cy))
            cy += s.get_height()
        return y + height + 2

    def draw(
        self,
        surface: pygame.Surface,
        status: StageStatus,
        timings: Mapping[str, object] | None = None,
        now: float | None = None,
        layout: Layout | None = None,
    ) -> Layout:
        """The status bar, the log strip and the open side panels, each in its part of
        ``layout`` (by default: the surface's own, showing a canvas of its size)."""
        now = time.monotonic() if now is None else now
        if not self._size:
            self.resize(surface.get_height())
        if timings is not None:
            self.timings = timings
        parts = layout or self.layout(surface.get_size(), surface.get_size())
        bar = parts.status
        surface.fill(BAR, bar.as_tuple())
        text = self._fit(status_text(status), bar.w - 2 * PAD)
        surface.blit(self._text(text, TEXT), (bar.x + PAD, bar.y + PAD))
        self._draw_log(surface, parts.log, now)
        if parts.side is not None:
            self._draw_side(surface, parts.side)
        return parts

    def _draw_log(self, surface: pygame.Surface, box: Box, now: float) -> None:
        surface.fill(BAR, box.as_tuple())
        messages = self._messages(now)[-LOG_LINES:]
        y = box.y + PAD
        for m in messages:
            image = self._text(self._fit(_clip(m.text, 400), box.w - 2 * PAD), m.color)
            age = now - m.since
            if not m.sticky and age > FADE_AFTER:
                left = max(0.0, 1.0 - (age - FADE_AFTER) / (self.error_seconds - FADE_AFTER))
                image = image.copy()
                image.set_alpha(int(255 * left))
            surface.blit(image, (box.x + PAD, y))
            y += self.line

    def _draw_side(self, surface: pygame.Surface, box: Box) -> None:
        surface.fill((0, 0, 0), box.as_tuple())
        clip = surface.get_clip()
        surface.set_clip(pygame.Rect(box.as_tuple()))
        y = box.y
        for p in self.panels:
            if not p.open or y >= box.bottom:
                continue
            y = self._panel(surface, [(p.title or p.name, WARN)], box.x, y) - 2
            if p.rows is not None:
                y = self._table(surface, list(p.rows()), box.x, y, width=box.w)
            if p.draw is not None:
                area = Box(box.x, y, box.w, max(min(p.height, box.bottom - y), 0))
                p.draw(surface, area)
                y = area.bottom + 2
        surface.set_clip(clip)


def _clip(message: str, limit: int = 140) -> str:
    message = one_line(message)
    return message if len(message) <= limit else message[: limit - 1] + "…"
