"""The help panel (H): its two columns line up, whatever the glyph widths of the keys."""

from __future__ import annotations

import numpy as np
import pygame

from posestage.stage.overlay import HELP_LINES, Overlay, StageStatus


def lit_columns(pixels: np.ndarray) -> np.ndarray:
    """x positions where a (W, H) band has a bright text pixel."""
    return np.flatnonzero((pixels > 150).any(axis=1))


def test_help_columns_are_aligned():
    pygame.font.init()
    overlay = Overlay()
    surface = pygame.Surface((500, 300))
    surface.fill((0, 0, 0))
    bottom = overlay._table(surface, HELP_LINES, 0, 0)
    line = (bottom - 2 - 8) // len(HELP_LINES)
    keys = [row.split("  ")[0] for row in HELP_LINES]
    widest = max(overlay._font.size(k)[0] for k in keys)

    def second_column(surface):
        gray = pygame.surfarray.array3d(surface).max(axis=2)  # (W, H)
        starts = []
        for n in range(len(HELP_LINES)):
            xs = lit_columns(gray[:, 4 + n * line : 4 + (n + 1) * line])
            starts.append(int(xs[xs > 4 + widest + 2].min()))  # the description's first pixel
        return starts

    # every description starts at the same x (within a glyph's side bearing)
    starts = second_column(surface)
    assert max(starts) - min(starts) <= 2, starts
    # the old layout (padding with spaces in a proportional font) did not line them up
    old = pygame.Surface((500, 300))
    overlay._panel(old, [(row, (255, 255, 255)) for row in HELP_LINES], 0, 0)
    starts = second_column(old)
    assert max(starts) - min(starts) > 2, starts


def test_help_drawn_by_the_overlay():
    pygame.font.init()
    overlay = Overlay()
    surface = pygame.Surface((500, 300))
    overlay.draw(surface, StageStatus())
    without = pygame.surfarray.array3d(surface).copy()
    overlay.show_help = True
    surface.fill((0, 0, 0))
    overlay.draw(surface, StageStatus())
    assert (pygame.surfarray.array3d(surface) != without).any()
