"""Calibrating by clicking: the window's calibration mode (key C).

The scene says where some marks on the floor are, in metres (``[room] floor = [[0, 0], [4, 0],
[4, 3], [0, 3]]``, measured with a tape); the calibration mode asks for a click on each mark in
the picture, in order. After the last click the homography is fitted, its reprojection error
shown, and the clicked points written into the scene file as ``[room] image = [...]`` (camera
pixels, not mirrored: a mirrored stage's clicks are flipped back) — the scene reloads and the
stage is calibrated. C again leaves the mode without writing; Backspace takes the last click
back. A calibrated scene is calibrated again the same way (its floor points asked for anew).

:class:`Calibrating` keeps the clicks and draws the prompts; :func:`write_image_points` edits
the scene file's text (the ``image`` line of its ``[room]`` table replaced, or added).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from posestage.config.room import Calibration, fit_calibration
from posestage.errors import SceneError

__all__ = ["SHOW_SECONDS", "Calibrating", "write_image_points"]

#: How long the last message stays on screen once the mode is left.
SHOW_SECONDS = 6.0


def write_image_points(path: Path, points, size: tuple[int, int] | None = None) -> None:
    """Put ``image = [[x, y], …]`` (and the picture's ``size``) into the ``[room]`` table of
    the scene file at ``path``: lines of those keys replaced, or added under ``[room]``."""
    text = Path(path).read_text(encoding="utf-8")
    new = ["image = [" + ", ".join(f"[{x:.1f}, {y:.1f}]" for x, y in points) + "]"]
    if size is not None:
        new.insert(0, f'size = "{size[0]}x{size[1]}"')
    lines = text.splitlines()
    start = next((i for i, s in enumerate(lines) if s.strip() == "[room]"), None)
    if start is None:
        lines += ["", "[room]", *new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
                   len(lines))  # fmt: skip
        keep = [ln for ln in lines[start + 1 : end] if not re.match(r"\s*(image|size)\s*=", ln)]
        lines[start + 1 : end] = new + keep
    tmp = Path(path).with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


class Calibrating:
    """The calibration mode's state: on or off, the floor marks to click, the clicks so far."""

    def __init__(self) -> None:
        self.active = False
        self.marks: tuple = ()
        self.clicks: list[tuple[float, float]] = []
        self.message = ""
        self.result: Calibration | None = None
        self.since = 0.0  # when the mode was left (its last message shows a while)

    def toggle(self, marks, path) -> None:
        """Key C: start asking for the ``marks`` (floor metres), or stop without writing."""
        self.since = time.monotonic()
        if self.active:
            self.active, self.message = False, "calibration left; nothing written"
            return
        if len(marks) < 4:
            self.message = ("calibration: write [room] floor = [[x, y], …] (4 or more marks on the "
                            "floor, metres) in the scene first")  # fmt: skip
            return
        if path is None:
            self.message = "calibration: this scene has no file to write the points into"
            return
        self.active, self.marks, self.clicks, self.path = True, tuple(marks), [], Path(path)
        self.message = self.prompt()

    def prompt(self) -> str:
        k = len(self.clicks)
        x, y = self.marks[k]
        return f"calibration: click floor mark {k + 1} of {len(self.marks)} at ({x:g}, {y:g}) m"

    def undo(self) -> None:
        if self.active and self.clicks:
            self.clicks.pop()
            self.message = self.prompt()

    def click(self, at, window_size, image_size, mirrored: bool) -> None:
        """A click at ``at`` (window pixels) on the picture (``image_size``, letterboxed into
        ``window_size``): one more image point; after the last, fit and write."""
        ww, wh = window_size
        iw, ih = image_size
        scale = min(ww / iw, wh / ih)
        x = (at[0] - (ww - iw * scale) / 2) / scale
        y = (at[1] - (wh - ih * scale) / 2) / scale
        if not (0 <= x < iw and 0 <= y < ih):
            return  # on the letterbox, not the picture
        if mirrored:
            x = (iw - 1) - x
        self.clicks.append((x, y))
        if len(self.clicks) < len(self.marks):
            self.message = self.prompt()
            return
        self.active, self.since = False, time.monotonic()
        try:
            self.result = fit_calibration(self.clicks, self.marks, "calibration", image_size)
            write_image_points(self.path, self.clicks, image_size)
        except (SceneError, OSError) as err:
            self.message = f"calibration failed: {err}"
            return
        self.message = (f"calibrated: reprojection error {self.result.error:.1f} px; "
                        f"written to {self.path.name}")  # fmt: skip

    def draw(self, window, image_size, mirrored: bool) -> None:
        """The prompt and the clicks so far, over the window."""
        import pygame

        if not self.message or (not self.active and time.monotonic() - self.since > SHOW_SECONDS):
            return
        if not pygame.font.get_init():
            pygame.font.init()
        font = pygame.font.Font(None, 24)
        text = font.render(self.message, True, (255, 255, 255))
        back = pygame.Surface((text.get_width() + 12, text.get_height() + 8), pygame.SRCALPHA)
        back.fill((0, 0, 0, 180))
        ww, wh = window.get_size()
        window.blit(back, (10, wh - back.get_height() - 40))
        window.blit(text, (16, wh - back.get_height() - 36))
        if not self.active:
            return
        iw, ih = image_size
        scale = min(ww / iw, wh / ih)
        for x, y in self.clicks:
            sx = ((iw - 1) - x) if mirrored else x
            p = ((ww - iw * scale) / 2 + sx * scale, (wh - ih * scale) / 2 + y * scale)
            pygame.draw.circle(window, (255, 200, 40), p, 6, 2)
