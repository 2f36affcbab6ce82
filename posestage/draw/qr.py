"""A QR code on a pygame surface (segno makes the code): the web server's address with its token,
for a phone to open (:func:`draw_qr`). The stage window draws it in a corner while the help is
shown (H); nothing else of the window changes.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["QUIET", "draw_qr", "qr_surface"]

#: White modules around the code (the standard asks for 4).
QUIET = 4

_cache: dict[tuple[str, int], Any] = {}


def qr_surface(text: str, scale: int = 4) -> Any:
    """A pygame surface with the QR code of ``text``, ``scale`` pixels a module, its quiet zone
    white (cached: the same text is made once)."""
    import pygame
    import segno

    key = (text, scale)
    if key not in _cache:
        code = segno.make(text, error="m")
        rows = [list(row) for row in code.matrix]
        size = (len(rows) + 2 * QUIET) * scale
        surface = pygame.Surface((size, size))
        surface.fill((255, 255, 255))
        for y, row in enumerate(rows):
            for x, dark in enumerate(row):
                if dark:
                    rect = ((x + QUIET) * scale, (y + QUIET) * scale, scale, scale)
                    surface.fill((0, 0, 0), rect)
        _cache.clear()  # one code at a time: the stage's own address
        _cache[key] = surface
    return _cache[key]


def draw_qr(target: Any, text: str | None, margin: int = 12) -> None:
    """The code of ``text`` in ``target``'s bottom-right corner (nothing for None), a module
    being as many pixels as a quarter of the shorter side allows."""
    if not text:
        return
    modules = _modules(text)
    side = min(target.get_width(), target.get_height()) // 4
    surface = qr_surface(text, max(2, side // modules))
    x = target.get_width() - surface.get_width() - margin
    y = target.get_height() - surface.get_height() - margin
    target.blit(surface, (max(0, x), max(0, y)))


@functools.lru_cache(maxsize=4)
def _modules(text: str) -> int:
    import segno

    return segno.make(text, error="m").symbol_size(scale=1, border=QUIET)[0]
