"""On-screen text over the stage window: status line, help panel, errors, plugin timings.

The :class:`Overlay` is drawn last, on the window surface (not on the plugins' canvas), by the
main thread only. Its text is built by small pure functions (:func:`status_text`,
:func:`timing_lines`) so what the performer reads is testable without a window.

Errors come in two kinds: *sticky* ones under a key (an invalid scene edit stays on screen
until the file is fixed: ``set_error("scene", msg)`` / ``set_error("scene", None)``) and
*transient* ones (``add_error``: a plugin or engine error, shown for :attr:`Overlay.error_seconds`).
Rendered text is cached, so an unchanged line costs one blit per display frame.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from posestage.errors import one_line  # noqa: E402

#: Keys the stage answers, shown by the help panel (H).
HELP_LINES: tuple[str, ...] = (
    "Esc / Q   quit",
    "F         fullscreen on/off",
    "H         this help",
    "T         plugin timings",
    "1 … 9     switch scene",
)

from posestage.draw.palette import ERROR, SHADE, TEXT, WARN  # noqa: E402  (the one palette)


@dataclass
class StageStatus:
    """What the status line reports: dispatch rate, engine time, latency, people, display rate."""

    fps: float = 0.0
    inference_ms: float | None = 0.0  # None: no model runs (a replayed pose stream)
    latency_ms: float = 0.0
    people: int = 0
    display_fps: float = 0.0
    scene: str = ""
    privacy: bool = False


def status_text(status: StageStatus) -> str:
    """The one-line status, in the spirit of Coral's pose_camera.

    >>> status_text(StageStatus(fps=29.84, inference_ms=31.2, latency_ms=45.04, people=2))
    'FPS 29.8 | inference 31.2 ms | latency 45.0 ms | people 2'
    """
    parts = [
        f"FPS {status.fps:.1f}",
        "replay" if status.inference_ms is None else f"inference {status.inference_ms:.1f} ms",
        f"latency {status.latency_ms:.1f} ms",
        f"people {status.people}",
    ]
    if status.display_fps:
        parts.append(f"display {status.display_fps:.0f} fps")
    if status.scene:
        parts.append(f"scene {status.scene}")
    if status.privacy:
        parts.append("PRIVACY")
    return " | ".join(parts)


def timing_lines(timings: Mapping[str, object], limit: int = 12) -> list[str]:
    """One line per plugin, slowest first: ``name  mean ms  max ms  calls``.

    ``timings`` maps a plugin name to either a number (mean ms) or an object / mapping with
    ``mean_ms``/``max_ms``/``calls`` (whatever the plugin host keeps); unknown shapes print as
    their ``str``.
    """

    def field(value: object, name: str) -> float | None:
        if isinstance(value, Mapping):
            got = value.get(name)
        else:
            got = getattr(value, name, None)
        return float(got) if isinstance(got, (int, float)) else None

    rows = []
    for name, value in timings.items():
        if isinstance(value, (int, float)):
            rows.append((float(value), f"{name:<18} {float(value):7.2f} ms"))
            continue
        mean = field(value, "mean_ms")
        if mean is None:
            rows.append((0.0, f"{name:<18} {value}"))
            continue
        peak = field(value, "max_ms")
        calls = field(value, "calls")
        text = f"{name:<18} {mean:7.2f} ms"
        if peak is not None:
            text += f"  max {peak:7.2f} ms"
        if calls is not None:
            text += f"  {int(calls)} calls"
        missed = field(value, "missed")
        if missed:
            text += f"  missed {int(missed)}"
        rows.append((mean, text))
    rows.sort(key=lambda r: -r[0])
    return [text for _, text in rows[:limit]]


class Overlay:
    """Text drawn over the window: status line (always), help (H), timings (T), errors."""

    #: How long a transient error stays on screen.
    error_seconds = 8.0
    #: At most this many transient errors are kept (newest last).
    max_errors = 5

    def __init__(self, font_size: int = 16):
        if not pygame.font.get_init():
            pygame.font.init()
        self._font = pygame.font.Font(None, max(int(font_size * 1.25), 8))
        self._cache: dict[tuple[str, tuple], pygame.Surface] = {}
        self._sticky: dict[str, str] = {}
        self._transient: list[tuple[float, str]] = []
        self.show_help = False
        self.show_timings = False

    # -- errors --------------------------------------------------------------------------

    def set_error(self, key: str, message: str | None) -> None:
        """Show ``message`` until it is cleared with ``set_error(key, None)``."""
        if message:
            self._sticky[key] = message
        else:
            self._sticky.pop(key, None)

    def add_error(self, message: str, now: float | None = None) -> None:
        """Show ``message`` for :attr:`error_seconds` (the same text is not repeated)."""
        now = time.monotonic() if now is None else now
        self._transient = [(t, m) for t, m in self._transient if m != message]
        self._transient.append((now, message))
        del self._transient[: -self.max_errors]

    def errors(self, now: float | None = None) -> list[str]:
        """Errors on screen now: sticky ones first, then transient ones still fresh."""
        now = time.monotonic() if now is None else now
        self._transient = [(t, m) for t, m in self._transient if now - t < self.error_seconds]
        return list(self._sticky.values()) + [m for _, m in self._transient]

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

    def _wrap(self, text: str, width: int, max_lines: int = 3) -> list[str]:
        """``text`` broken at spaces into lines at most ``width`` pixels wide (3 at most)."""
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and self._font.size(candidate)[0] > width:
                lines.append(current)
                current = "  " + word
            else:
                current = candidate
        lines.append(current)
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1] + " …"
        return lines

    def _panel(self, surface: pygame.Surface, lines: Iterable[tuple[str, tuple]], x: int, y: int):
        """Lines on a translucent dark box at (x, y); returns the y below it."""
        rendered = [self._text(text, color) for text, color in lines if text]
        if not rendered:
            return y
        pad = 4
        width = max(s.get_width() for s in rendered) + 2 * pad
        height = sum(s.get_height() for s in rendered) + 2 * pad
        box = pygame.Surface((width, height), pygame.SRCALPHA)
        box.fill(SHADE)
        surface.blit(box, (x, y))
        cy = y + pad
        for s in rendered:
            surface.blit(s, (x + pad, cy))
            cy += s.get_height()
        return y + height + 2

    def _table(self, surface: pygame.Surface, rows: Iterable[str], x: int, y: int) -> int:
        """Like :meth:`_panel`, with each line's columns (split at two or more spaces) aligned:
        the font is proportional, so padding with spaces cannot line them up."""
        cells = [[self._text(c, TEXT) for c in re.split(r"\s{2,}", row.strip())] for row in rows]
        if not cells:
            return y
        pad, gap = 4, self._font.size("  ")[0]
        columns = max(len(r) for r in cells)
        widths = [
            max((r[i].get_width() for r in cells if i < len(r)), default=0) for i in range(columns)
        ]
        line = max(s.get_height() for r in cells for s in r)
        box = pygame.Surface(
            (sum(widths) + gap * (columns - 1) + 2 * pad, line * len(cells) + 2 * pad),
            pygame.SRCALPHA,
        )
        box.fill(SHADE)
        surface.blit(box, (x, y))
        for n, row in enumerate(cells):
            cx = x + pad
            for i, s in enumerate(row):
                surface.blit(s, (cx, y + pad + n * line))
                cx += widths[i] + gap
        return y + box.get_height() + 2

    def draw(
        self,
        surface: pygame.Surface,
        status: StageStatus,
        timings: Mapping[str, object] | None = None,
        now: float | None = None,
    ) -> None:
        """Draw the status line top-left, then errors, help and timings below it."""
        y = self._panel(surface, [(status_text(status), TEXT)], 4, 4)
        errors = self.errors(now)
        if errors:
            width = max(surface.get_width() - 16, 80)
            lines = [(line, ERROR) for m in errors for line in self._wrap(_clip(m, 400), width)]
            y = self._panel(surface, lines, 4, y)
        if self.show_help:
            y = self._table(surface, HELP_LINES, 4, y)
        if self.show_timings:
            lines = timing_lines(timings or {})
            y = self._panel(
                surface, [(line, WARN) for line in lines or ["no plugin timings"]], 4, y
            )


def _clip(message: str, limit: int = 140) -> str:
    message = one_line(message)
    return message if len(message) <= limit else message[: limit - 1] + "…"
