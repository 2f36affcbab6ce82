"""Skeletons on a pygame surface, readable on any background: shared by the drawing plugins.

The skeleton painter, the anonymizer and any plugin of your own draw people the same way::

    from posestage.draw.skeleton import SkeletonStyle, draw_people

    @hookimpl
    def posestage_draw(canvas, frame):
        draw_people(canvas, frame, SkeletonStyle(thickness=4))

Readable anywhere: every bone and joint is drawn twice, first wider in a dark outline, then in
the person's colour, so a bright skeleton stands out on a dark stage and its outline on snow or
a white wall; labels sit on a dark backing. Sizes are given for a canvas whose shorter side is
:data:`REFERENCE_SIDE` pixels and grow with the canvas (the stage's canvas is the camera image,
scaled to the window), so a 1080p camera gets proportionally thicker bones than a 480p one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from posestage.config.schema import Setting  # noqa: E402
from posestage.draw.palette import BACKING_ALPHA, OUTLINE, TEXT, color_for  # noqa: E402
from posestage.model.keypoints import BONES  # noqa: E402

#: Sizes in :class:`SkeletonStyle` are pixels on a canvas whose shorter side is this long.
REFERENCE_SIDE = 480
#: Label font height in pixels at the reference size.
LABEL_SIZE = 22


def size_scale(size: Sequence[int]) -> float:
    """How much larger than the reference (:data:`REFERENCE_SIDE`) a canvas of ``size`` is."""
    return max(min(int(size[0]), int(size[1])), 1) / REFERENCE_SIDE


@dataclass(frozen=True)
class SkeletonStyle:
    """How :func:`draw_people` draws: the skeleton plugin's settings, as data.

    ``thickness``/``radius``: bone width and joint radius in pixels at the reference size
    (they scale with the canvas; radius 0: no joint dots). ``threshold``: keypoints scoring
    below it, and bones touching them, are left out. ``color_by``: ``"id"`` or ``"slot"``.
    ``labels``/``label``: a label above each person showing ``"id"``, ``"slot"`` or
    ``"both"``. ``missing``: people in a tracking dropout are ``"dim"``, ``"show"`` or
    ``"hide"``. ``outline``: draw the dark outline and label backing.
    """

    thickness: int = 3
    radius: int = 4
    threshold: float = 0.3
    color_by: str = "id"
    labels: bool = False
    label: str = "id"
    missing: str = "dim"
    outline: bool = True

    @classmethod
    def of(cls, settings: dict) -> SkeletonStyle:
        """A style from a settings dict (keys this class does not know are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in settings.items() if k in names})

    def pixels(self, size: Sequence[int]) -> tuple[int, int, int]:
        """(bone width, joint radius, outline width) in pixels on a canvas of ``size``."""
        scale = size_scale(size)
        thickness = max(1, round(self.thickness * scale))
        radius = round(self.radius * scale) if self.radius > 0 else 0
        edge = max(1, round(thickness / 3)) if self.outline else 0
        return thickness, radius, edge


#: Settings declaring a :class:`SkeletonStyle` (the skeleton plugin's; the anonymizer's too).
STYLE_SETTINGS = (
    Setting(
        "thickness",
        int,
        3,
        "bone width in pixels per 480 pixels of the image's shorter side (grows with it)",
        min=1,
        max=40,
    ),
    Setting(
        "radius",
        int,
        4,
        "keypoint dot radius, likewise (0: no dots)",
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
    Setting(
        "missing",
        str,
        "dim",
        "people in a tracking dropout: dim (a ghost: dim, thin), show or hide",
        choices=("dim", "show", "hide"),
    ),
    Setting(
        "outline",
        bool,
        True,
        "a dark outline round bones and a backing under labels (any background)",
    ),
)


_fonts: dict[int, pygame.font.Font] = {}


def font(height: int) -> pygame.font.Font:
    """pygame's default font at ``height`` pixels (cached; initialises pygame.font)."""
    height = max(int(height), 8)
    if not pygame.font.get_init():  # first use, or pygame was quit: old fonts are dead
        _fonts.clear()
        pygame.font.init()
    got = _fonts.get(height)
    if got is None:
        got = _fonts[height] = pygame.font.Font(None, height)
    return got


def draw_skeleton(
    surface: pygame.Surface,
    points: Sequence[Sequence[int]],
    visible: Sequence[bool],
    color: tuple[int, int, int],
    thickness: int,
    radius: int,
    edge: int = 0,
) -> None:
    """One skeleton: ``points`` (17 (x, y) surface pixels), ``visible`` (17 bools); the bones
    ``thickness`` wide, joints of ``radius``, all outlined ``edge`` pixels in :data:`OUTLINE`."""
    bones = [(points[a], points[b]) for a, b in BONES if visible[a] and visible[b]]
    joints = [p for p, seen in zip(points, visible) if seen]
    cap = max(radius, (thickness + 1) // 2 if thickness > 2 else 0)  # round bone ends
    passes = ((OUTLINE, 2 * edge), (color, 0)) if edge else ((color, 0),)
    for paint, extra in passes:
        for a, b in bones:
            pygame.draw.line(surface, paint, a, b, thickness + extra)
        if cap:
            for p in joints:
                pygame.draw.circle(surface, paint, p, cap + extra // 2)


def draw_label(
    surface: pygame.Surface,
    text: str,
    color: tuple[int, int, int],
    center_x: int,
    bottom: int,
    height: int = LABEL_SIZE,
    backing: bool = True,
) -> pygame.Rect:
    """``text`` in ``color``, centred on ``center_x`` with its box ending at ``bottom``, on a
    dark translucent backing; kept inside the surface. Returns the box drawn."""
    image = font(height).render(text, True, color)
    pad = max(2, height // 6)
    box = pygame.Rect(0, 0, image.get_width() + 2 * pad, image.get_height() + 2 * pad)
    box.midbottom = (int(center_x), int(bottom))
    box.clamp_ip(surface.get_rect())
    if backing:
        shade = pygame.Surface(box.size, pygame.SRCALPHA)
        shade.fill((*OUTLINE, BACKING_ALPHA))
        surface.blit(shade, box)
    surface.blit(image, (box.x + pad, box.y + pad))
    return box


def draw_people(surface: pygame.Surface, frame, style: SkeletonStyle = SkeletonStyle()) -> None:
    """Every person of ``frame`` (a :class:`~posestage.model.frames.PoseFrame`) on ``surface``,
    scaled from the frame's size to the surface's."""
    width, height = surface.get_size()
    scale = np.array([width / max(frame.width, 1), height / max(frame.height, 1)], dtype=np.float32)
    thickness, radius, edge = style.pixels((width, height))
    for person in frame.people:
        if person.missing and style.missing == "hide":
            continue
        color = color_for(person.slot if style.color_by == "slot" else person.id)
        ghost = bool(person.missing) and style.missing == "dim"
        if ghost:  # a ghost: kept through a dropout, not seen — dim, thin, no outline
            color = tuple(c // 2 for c in color)
        points = np.rint(person.xy * scale).astype(int).tolist()
        visible = (person.scores >= style.threshold).tolist()
        if ghost:
            draw_skeleton(surface, points, visible, color, max(1, thickness // 2),
                          max(1, radius // 2))  # fmt: skip
        else:
            draw_skeleton(surface, points, visible, color, thickness, radius, edge)
        if style.labels and any(visible):
            text = {
                "id": f"#{person.id}",
                "slot": f"slot {person.slot}",
                "both": f"#{person.id} slot {person.slot}",
            }[style.label] + (" ghost" if ghost else "")
            xs = [p[0] for p, v in zip(points, visible) if v]
            top = min(p[1] for p, v in zip(points, visible) if v)
            gap = radius + edge + 2
            draw_label(
                surface,
                text,
                color,
                sum(xs) // len(xs),
                top - gap,
                round(LABEL_SIZE * size_scale((width, height))),
                style.outline,
            )


def draw_message(surface: pygame.Surface, text: str, color=TEXT) -> None:
    """A one-line message centred on ``surface`` (on a backing), sized to fit the surface."""
    w, h = surface.get_size()
    size = max(12, round(h / 16))
    wide = font(size).size(text)[0]
    if wide > 0.92 * w:  # too wide for a small window: a smaller font
        size = max(8, int(size * 0.92 * w / wide))
    draw_label(surface, text, color, w // 2, h // 2 + size // 2, size)
