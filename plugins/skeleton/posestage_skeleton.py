"""posestage plugin ``skeleton``: each tracked person's keypoints and bones, a colour each.

Colours come from a fixed palette of ten (:data:`PALETTE`), picked by the person's ``id``
(default) or ``slot``, so a person keeps their colour for as long as they are tracked.
Keypoints scoring below ``threshold`` are not drawn, nor any bone touching one. People in a
tracking dropout (``missing > 0``) are drawn dimmed, drawn as usual, or hidden (``missing``).

Coordinates: the stage hands plugins image-pixel coordinates, already mirrored when the stage
mirrors, and a canvas the size of the image; this plugin still scales by ``canvas size /
frame size`` so it draws correctly on any canvas.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from posestage.hookspecs import hookimpl  # noqa: E402
from posestage.keypoints import BONES  # noqa: E402
from posestage.settings import Setting  # noqa: E402

__version__ = "0.1.0"
PLUGIN_NAME = "skeleton"

#: Person colours (RGB), chosen by ``id % 10`` (or ``slot % 10``): distinct on a dark stage.
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

SETTINGS = (
    Setting("thickness", int, 3, "bone line width in image pixels", min=1, max=40),
    Setting("radius", int, 4, "keypoint dot radius in image pixels (0: no dots)", min=0, max=40),
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
)


def color_for(key: int) -> tuple[int, int, int]:
    """The palette colour for a person id or slot."""
    return PALETTE[key % len(PALETTE)]


class SkeletonPainter:
    """The plugin object (entry point ``posestage_skeleton:plugin``); one per host."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self) -> None:
        self.settings = {s.name: s.default for s in SETTINGS}
        self._font: pygame.font.Font | None = None

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, settings):
        self.settings = dict(settings)
        if settings["labels"]:
            if not pygame.font.get_init():
                pygame.font.init()
            self._font = pygame.font.Font(None, 22)

    @hookimpl
    def posestage_unconfigure(self):
        self._font = None

    @hookimpl
    def posestage_draw(self, canvas, frame):
        s = self.settings
        width, height = canvas.get_size()
        scale = np.array(
            [width / max(frame.width, 1), height / max(frame.height, 1)], dtype=np.float32
        )
        thickness = max(1, round(s["thickness"] * float(scale.mean())))
        radius = round(s["radius"] * float(scale.mean()))
        for person in frame.people:
            if person.missing and s["missing"] == "hide":
                continue
            color = color_for(person.slot if s["color_by"] == "slot" else person.id)
            if person.missing and s["missing"] == "dim":
                color = tuple(c // 2 for c in color)
            points = np.rint(person.xy * scale).astype(int).tolist()
            visible = (person.scores >= s["threshold"]).tolist()
            for a, b in BONES:
                if visible[a] and visible[b]:
                    pygame.draw.line(canvas, color, points[a], points[b], thickness)
            if radius > 0:
                for point, seen in zip(points, visible):
                    if seen:
                        pygame.draw.circle(canvas, color, point, radius)
            if self._font is not None and any(visible):
                self._label(canvas, person, color, points, visible)

    def _label(self, canvas, person, color, points, visible) -> None:
        text = {
            "id": f"#{person.id}",
            "slot": f"slot {person.slot}",
            "both": f"#{person.id} slot {person.slot}",
        }[self.settings["label"]]
        image = self._font.render(text, True, color)
        xs = [p[0] for p, v in zip(points, visible) if v]
        top = min(p[1] for p, v in zip(points, visible) if v)
        x = sum(xs) // len(xs) - image.get_width() // 2
        canvas.blit(image, (x, max(0, top - image.get_height() - 4)))


plugin = SkeletonPainter()
