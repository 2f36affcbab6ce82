"""posestage plugin ``skeleton``: each tracked person's keypoints and bones, a colour each.

Colours come from a fixed palette of ten (:data:`PALETTE`), picked by the person's ``id``
(default) or ``slot``, so a person keeps their colour for as long as they are tracked.
Keypoints scoring below ``threshold`` are not drawn, nor any bone touching one. People in a
tracking dropout (``missing > 0``) are drawn dimmed, drawn as usual, or hidden (``missing``).

Readable on any background: bones and dots have a dark outline, labels a dark backing
(``outline = false`` leaves them out). ``thickness`` and ``radius`` are pixels on a
480-pixel-high image and grow with it, so the skeleton keeps its weight in the window whatever
the camera's resolution. The drawing itself is :func:`posestage.painting.draw_people`, shared
with the anonymizer and any plugin of your own.

Coordinates: the stage hands plugins image-pixel coordinates, already mirrored when the stage
mirrors, and a canvas the size of the image; the painter still scales by ``canvas size /
frame size`` so it draws correctly on any canvas.
"""

from __future__ import annotations

from posestage.hookspecs import hookimpl
from posestage.painting import PALETTE, SkeletonStyle, color_for, draw_people
from posestage.settings import Setting

__version__ = "0.1.0"
PLUGIN_NAME = "skeleton"
__all__ = ["PALETTE", "SETTINGS", "SkeletonPainter", "color_for", "plugin"]

SETTINGS = (
    Setting(
        "thickness",
        int,
        3,
        "bone width in pixels on a 480-pixel-high image (grows with the image)",
        min=1,
        max=40,
    ),
    Setting(
        "radius",
        int,
        4,
        "keypoint dot radius in pixels on a 480-pixel-high image (0: no dots)",
        min=0,
        max=40,
    ),
    Setting(
        "threshold", float, 0.3, "keypoints scoring below this are not drawn", min=0.0, max=1.0
    ),
    Setting(
        "color_by",
        str,
        "id",
        "a colour per person id (changes on re-entry) or per slot",
        choices=("id", "slot"),
    ),
    Setting("labels", bool, False, "write a label above each person"),
    Setting("label", str, "id", "what the label shows", choices=("id", "slot", "both")),
    Setting("missing", str, "dim", "people in a tracking dropout", choices=("dim", "show", "hide")),
    Setting(
        "outline",
        bool,
        True,
        "a dark outline round bones and a backing under labels (any background)",
    ),
)


class SkeletonPainter:
    """The plugin object (entry point ``posestage_skeleton:plugin``); one per host."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self) -> None:
        self.style = SkeletonStyle.of({s.name: s.default for s in SETTINGS})

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, settings):
        self.style = SkeletonStyle.of(settings)

    @hookimpl
    def posestage_draw(self, canvas, frame):
        draw_people(canvas, frame, self.style)


plugin = SkeletonPainter()
