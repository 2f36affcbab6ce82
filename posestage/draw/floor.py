"""The floor view: the room from above, in metres — what an installation maker watches while
setting up.

:class:`FloorView` draws, into a panel of a pygame surface, the calibrated floor seen from
above: a one-metre grid, the scale bar and a legend just under it (so they read in the
window's narrow side column), the calibration's floor points and error, the scene's zones
(filled, named, with how many people are in each now), and every person as a dot in their
colour with ``slot:id`` and a short trail (the last :data:`TRAIL_SECONDS` of frame time). The
view fits everything known (calibration points, zones, people) with a margin, x to the right
and y down the panel as the floor's own axes. Without a calibration it says how to make one.

Numbers only: it reads :class:`~posestage.PoseFrame` people's ``floor`` and the scene's
:class:`~posestage.config.room.RoomSettings`, never an image.
"""

from __future__ import annotations

from collections import deque

from posestage.config.room import RoomSettings
from posestage.draw.palette import SHADE, TEXT, color_for
from posestage.model.frames import PoseFrame

__all__ = ["GRID_METRES", "TRAIL_SECONDS", "FloorView"]

#: A person's trail: where they stood over this many seconds of frame time.
TRAIL_SECONDS = 2.0
#: Grid lines every this many metres.
GRID_METRES = 1.0
_MARGIN = 0.5  # metres around what is shown
_TOP, _BELOW = 48, 82  # pixels above the floor (two lines of title), below it (scale, legend)


class FloorView:
    """The floor view: :meth:`draw` it into a rectangle of a surface, every frame shown.

    ``shown`` is None until the key toggles it: it then follows the scene's ``[room] view``.
    """

    def __init__(self) -> None:
        self.shown: bool | None = None
        self._trails: dict[int, deque] = {}
        self._font = None
        self.draws = 0  #: times drawn

    def toggle(self, room: RoomSettings) -> None:
        """The key: show it if hidden, hide it if shown."""
        self.shown = not self.visible(room)

    def visible(self, room: RoomSettings) -> bool:
        return bool(room.view) if self.shown is None else self.shown

    def follow(self, frame: PoseFrame) -> None:
        """Take the frame's people into the trails (the ones gone are forgotten)."""
        now = float(frame.timestamp)
        here = set()
        for p in frame.people:
            if p.floor is None:
                continue
            here.add(p.id)
            trail = self._trails.setdefault(p.id, deque())
            trail.append((now, p.floor.x, p.floor.y))
            while trail and now - trail[0][0] > TRAIL_SECONDS:
                trail.popleft()
        for gone in set(self._trails) - here:
            del self._trails[gone]

    def draw(self, surface, frame: PoseFrame | None, room: RoomSettings, rect=None) -> None:
        """The view into ``rect`` of ``surface`` (default: the right 40 % of it)."""
        import pygame

        if self._font is None:
            if not pygame.font.get_init():
                pygame.font.init()
            self._font = pygame.font.Font(None, 18)
        w, h = surface.get_size()
        rect = pygame.Rect(rect) if rect is not None else pygame.Rect(w * 3 // 5, 0, w * 2 // 5, h)
        panel = pygame.Surface(rect.size, pygame.SRCALPHA)
        panel.fill((16, 16, 20, 225))
        self.draws += 1
        if frame is not None:
            self.follow(frame)
        if room.calibration is None:
            self._text(panel, "no floor calibration:", (10, 10))
            self._text(panel, "[room] image = [[x, y], ...] and floor = [[x, y], ...]", (10, 28))
            surface.blit(panel, rect.topleft)
            return
        to_px = self._fit(room, frame, rect.size)
        self._grid(panel, to_px, room, frame, rect.size)
        counts = {z.name: z.count for z in frame.zones} if frame is not None else {}
        for name, corners in room.zones.items():
            pts = [to_px(x, y) for x, y in corners]
            pygame.draw.polygon(panel, (90, 140, 200, 70), pts)
            pygame.draw.polygon(panel, (120, 170, 230, 220), pts, 2)
            top = min(pts, key=lambda p: (p[1], p[0]))  # the name above the zone's top corner
            self._text(panel, f"{name}: {counts.get(name, 0)}", (top[0], top[1] - 17))
        for x, y in room.calibration.floor:
            pygame.draw.circle(panel, (200, 200, 200, 200), to_px(x, y), 3, 1)
        for p in frame.people if frame is not None else ():
            if p.floor is None:
                continue
            colour = color_for(p.slot)
            trail = [to_px(x, y) for _, x, y in self._trails.get(p.id, ())]
            if len(trail) > 1:
                pygame.draw.lines(panel, (*colour, 160), False, trail, 2)
            at = to_px(p.floor.x, p.floor.y)
            pygame.draw.circle(panel, colour if not p.missing else (120, 120, 120), at, 7)
            self._text(panel, f"{p.slot}:{p.id}", (at[0] + 9, at[1] - 8))
        surface.blit(panel, rect.topleft)

    # -- internals -------------------------------------------------------------------------

    def _fit(self, room: RoomSettings, frame, size):
        """A function floor metres → panel pixels fitting everything known."""
        pts = list(room.calibration.floor)
        for corners in room.zones.values():
            pts += list(corners)
        if frame is not None:
            pts += [(p.floor.x, p.floor.y) for p in frame.people if p.floor is not None]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        x0, x1 = min(xs) - _MARGIN, max(xs) + _MARGIN
        y0, y1 = min(ys) - _MARGIN, max(ys) + _MARGIN
        w, h = size
        scale = min((w - 20) / max(x1 - x0, 1e-6), (h - _TOP - _BELOW) / max(y1 - y0, 1e-6))
        ox, oy = 10 - x0 * scale, _TOP - y0 * scale
        self._view = (x0, x1, y0, y1, scale)
        return lambda x, y: (ox + x * scale, oy + y * scale)

    def _grid(self, panel, to_px, room, frame, size) -> None:
        import math

        import pygame

        x0, x1, y0, y1, scale = self._view
        for k in range(math.ceil(x0 / GRID_METRES), math.floor(x1 / GRID_METRES) + 1):
            a, b = to_px(k * GRID_METRES, y0), to_px(k * GRID_METRES, y1)
            pygame.draw.line(panel, (50, 50, 58, 255), a, b)
        for k in range(math.ceil(y0 / GRID_METRES), math.floor(y1 / GRID_METRES) + 1):
            a, b = to_px(x0, k * GRID_METRES), to_px(x1, k * GRID_METRES)
            pygame.draw.line(panel, (50, 50, 58, 255), a, b)
        ox, oy = to_px(0.0, 0.0)
        pygame.draw.line(panel, (200, 80, 80, 255), (ox, oy), (ox + scale, oy), 2)  # x
        pygame.draw.line(panel, (80, 200, 80, 255), (ox, oy), (ox, oy + scale), 2)  # y
        w, h = size
        below = min(to_px(x0, y1)[1] + 14, h - _BELOW + 14)  # just under the floor drawn
        pygame.draw.line(panel, TEXT, (10, below), (10 + scale, below), 3)  # scale bar
        self._text(panel, "1 m", (16 + scale, below - 7))
        self._text(panel, "dot: slot:id", (10, below + 14))  # the legend
        self._text(panel, "zone: people in it now", (10, below + 32))
        error = room.calibration.error
        people = sum(p.floor is not None for p in frame.people) if frame is not None else 0
        self._text(panel, f"floor from above · {people} on it", (10, 8))
        self._text(panel, f"reprojection error {error:.1f} px", (10, 26))

    def _text(self, panel, text: str, at) -> None:
        import pygame

        surf = self._font.render(text, True, TEXT)
        back = pygame.Surface((surf.get_width() + 4, surf.get_height() + 2), pygame.SRCALPHA)
        back.fill(SHADE)
        panel.blit(back, (at[0] - 2, at[1] - 1))
        panel.blit(surf, at)
