"""posestage plugin ``skeleton``: each tracked person's keypoints and bones, a colour each.

Colours come from a fixed palette of ten (:data:`PALETTE`), picked by the person's ``id``
(default) or ``slot``, so a person keeps their colour for as long as they are tracked.
Keypoints scoring below ``threshold`` are not drawn, nor any bone touching one. People in a
tracking dropout (``missing > 0``) are drawn dimmed, drawn as usual, or hidden (``missing``).

Readable on any background: bones and dots have a dark outline, labels a dark backing
(``outline = false`` leaves them out). ``thickness`` and ``radius`` are pixels on an image
whose shorter side is 480 pixels and grow with the canvas, so the skeleton keeps its weight in
the window whatever the camera's resolution. The drawing itself is :func:`posestage.draw.skeleton.draw_people`, shared
with the anonymizer and any plugin of your own.

Coordinates: the stage hands plugins image-pixel coordinates, already mirrored when the stage
mirrors, and a canvas the size of the image; the painter still scales by ``canvas size /
frame size`` so it draws correctly on any canvas.
"""

from __future__ import annotations

from posestage import PALETTE, STYLE_SETTINGS, SkeletonStyle, color_for, draw_people, hookimpl

__version__ = "0.1.0"
PLUGIN_NAME = "skeleton"
__all__ = ["PALETTE", "SETTINGS", "SkeletonPainter", "color_for", "plugin"]

#: The painter's settings: exactly the fields of :class:`posestage.draw.skeleton.SkeletonStyle`.
SETTINGS = STYLE_SETTINGS


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
