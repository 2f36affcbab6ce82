"""Where things go in the stage window, for any window size: pure geometry, no pygame.

The window is split so that text never covers the performers: a status bar across the top,
a log strip across the bottom, and — while a side panel is open (help, timings, the OSC
monitor, a plugin's or helper's panel) — a column on the right. The stage's picture (the
canvas: the backdrop and every plugin's layer) is scaled into what is left, keeping its aspect
ratio, centred (letterboxed). :func:`text_size` sizes the text to the window's height, so it
reads the same on a laptop and on a projector.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Box", "Layout", "initial_window", "layout", "text_size"]

#: The text's pixel height for a window this tall: about 1/26 of it, within these bounds.
TEXT_MIN, TEXT_MAX = 18, 40
#: The side column's share of the window's width, and its bounds in pixels.
SIDE_SHARE, SIDE_MIN, SIDE_MAX = 0.32, 200, 520
#: Lines the log strip holds.
LOG_LINES = 2
PAD = 4


@dataclass(frozen=True)
class Box:
    """A rectangle: left, top, width, height (pixels)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Layout:
    """The window's parts: ``status`` (top bar), ``log`` (bottom strip), ``side`` (right
    column, None while no side panel is open), ``stage`` (what is left) and ``canvas`` (the
    picture scaled into ``stage``); ``scale`` maps canvas pixels to window pixels."""

    window: tuple[int, int]
    status: Box
    log: Box
    side: Box | None
    stage: Box
    canvas: Box
    scale: float

    def to_window(self, x: float, y: float) -> tuple[int, int]:
        """A canvas pixel's place in the window."""
        return (
            self.canvas.x + int(x * self.scale),
            self.canvas.y + int(y * self.scale),
        )


def text_size(window_height: int) -> int:
    """The overlay's font size (pixels) for a window ``window_height`` tall."""
    return max(TEXT_MIN, min(TEXT_MAX, round(window_height / 26)))


def bar_height(line: int, lines: int = 1) -> int:
    """A bar holding ``lines`` lines of ``line`` pixels, padded."""
    return lines * line + 2 * PAD


def layout(
    window: tuple[int, int], canvas: tuple[int, int], line: int, side: bool = False
) -> Layout:
    """The parts of a ``window`` showing a ``canvas``, with text lines ``line`` pixels tall;
    ``side``: a side panel is open."""
    ww, wh = max(int(window[0]), 1), max(int(window[1]), 1)
    status = Box(0, 0, ww, min(bar_height(line), wh))
    log_h = min(bar_height(line, LOG_LINES), max(wh - status.h, 0))
    log = Box(0, wh - log_h, ww, log_h)
    side_box = None
    right = ww
    if side:
        side_w = min(max(int(ww * SIDE_SHARE), SIDE_MIN), SIDE_MAX, ww // 2)
        side_box = Box(ww - side_w, status.bottom, side_w, max(log.y - status.bottom, 0))
        right = side_box.x
    stage = Box(0, status.bottom, max(right, 1), max(log.y - status.bottom, 1))
    cw, ch = max(int(canvas[0]), 1), max(int(canvas[1]), 1)
    scale = min(stage.w / cw, stage.h / ch)
    w, h = max(int(cw * scale), 1), max(int(ch * scale), 1)
    box = Box(stage.x + (stage.w - w) // 2, stage.y + (stage.h - h) // 2, w, h)
    return Layout((ww, wh), status, log, side_box, stage, box, scale)


def initial_window(canvas: tuple[int, int], fit: tuple[int, int], line_for=None) -> tuple[int, int]:
    """The window's first size: the canvas shrunk to fit ``fit`` (width, height), with the
    status bar and log strip added so the picture starts at that size. ``line_for(height)``
    gives a text line's height for a window that tall (default: :func:`text_size` + 20%)."""
    line_for = line_for or (lambda h: round(text_size(h) * 1.2))
    cw, ch = max(int(canvas[0]), 1), max(int(canvas[1]), 1)
    w, h = cw, ch
    for _ in range(2):  # the bars depend on the window's height, which depends on the bars
        line = line_for(h)
        bars = bar_height(line) + bar_height(line, LOG_LINES)
        shrink = min(fit[0] / cw, (fit[1] - bars) / ch, 1.0)
        w, h = max(int(cw * shrink), 1), max(int(ch * shrink), 1) + bars
    return w, h
