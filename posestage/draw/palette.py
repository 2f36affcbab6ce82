"""The one palette: a colour per person everywhere (skeletons, labels, voices), the stage's text.

Every drawing of posestage takes its colours from here: the pygame skeleton kit
(:mod:`posestage.draw.skeleton`), the still drawing (:mod:`posestage.draw.still`), the stage's
overlay, and plugins (the synth's voice dots), so one person has one colour on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "BACKING_ALPHA",
    "ERROR",
    "OUTLINE",
    "PALETTE",
    "SHADE",
    "TEXT",
    "WARN",
    "color_for",
    "contrast_ratio",
    "relative_luminance",
]

#: Person colours (RGB), chosen by ``id % 10`` (or ``slot % 10``); bright, so they stand out
#: on dark backgrounds, and outlined in :data:`OUTLINE` for light ones.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 80, 80),  # red
    (80, 200, 255),  # sky blue
    (255, 200, 40),  # amber
    (120, 230, 90),  # green
    (230, 110, 255),  # violet
    (255, 140, 40),  # orange
    (60, 240, 210),  # turquoise
    (255, 110, 180),  # pink
    (170, 150, 255),  # lavender
    (240, 240, 240),  # white
)
#: The outline around bones and joints, and the backing of labels.
OUTLINE = (0, 0, 0)
#: Label backing opacity (0-255).
BACKING_ALPHA = 190

#: The stage's own text (status line, help, messages) and its translucent backing.
TEXT = (255, 255, 255)
SHADE = (*OUTLINE, 160)
#: Errors and warnings on screen: the palette's red and amber.
ERROR = PALETTE[0]
WARN = PALETTE[2]


def color_for(key: int) -> tuple[int, int, int]:
    """The palette colour for a person id or slot."""
    return PALETTE[key % len(PALETTE)]


def relative_luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour (0 black … 1 white)."""
    c = np.asarray(rgb[:3], dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ (0.2126, 0.7152, 0.0722))


def contrast_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG contrast ratio of two colours: 1 (none) … 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
