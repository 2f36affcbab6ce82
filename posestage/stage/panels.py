"""The room's and the web server's side panels in the window: the floor view (V), calibrating
the floor by clicking (C) and the web page's QR code (beside the help)."""

from __future__ import annotations

from typing import Any

from posestage.draw.floor import FloorView
from posestage.draw.qr import draw_qr
from posestage.stage.calibrate import Calibrating
from posestage.stage.layout import Layout
from posestage.stage.overlay import Overlay, Panel

__all__ = ["RoomPanels"]


class RoomPanels:
    """What the window adds for the room and the web: two side panels, a calibration mode.

    ``room`` gives the running scene's ``[room]`` settings, ``frame`` the latest frame, ``qr``
    the web page's address with its token (None: no web server), ``scene_path`` the running
    scene's file (where a calibration is written). All on the main thread.
    """

    def __init__(self, overlay: Overlay, room, frame, qr, scene_path) -> None:
        self.overlay = overlay
        self._room, self._frame, self._qr, self._scene_path = room, frame, qr, scene_path
        self.floor_view = FloorView()  # the room from above (V; [room] view)
        self.calibrating = Calibrating()  # the floor calibrated by clicking (C)
        overlay.add_panel(Panel("floor", None, draw=self._draw_floor, height=10_000))
        overlay.add_panel(Panel("web", None, draw=self._draw_qr, height=10_000))

    def keys(self) -> list[int]:
        import pygame

        return [pygame.K_v, pygame.K_c]

    def sync(self) -> None:
        """Before a redraw: the floor panel follows its key and the scene's ``[room] view``,
        the QR code the help; the calibration's line goes to the log strip."""
        overlay = self.overlay
        overlay.panel("floor").open = self.floor_view.visible(self._room())
        overlay.panel("web").open = overlay.show_help and bool(self._qr())
        overlay.set_notice("calibration", self.calibrating.notice())

    def draw(self, window: Any, shown: Layout) -> None:
        """After a redraw: the calibration's clicks over the picture, while calibrating."""
        frame = self._frame()
        if frame is not None and self.calibrating.active:
            picture = window.subsurface(shown.canvas.as_tuple())
            self.calibrating.draw(picture, (frame.width, frame.height), frame.mirrored)

    def on_event(self, event: Any, shown: Layout | None) -> bool:
        """V, C, and while calibrating Backspace and clicks on the picture; False: not ours."""
        import pygame

        key = event.key if event.type == pygame.KEYDOWN else None
        if key == pygame.K_v:
            self.floor_view.toggle(self._room())
        elif key == pygame.K_c:
            room = self._room()
            marks = room.to_click or (room.calibration.floor if room.calibration else ())
            self.calibrating.toggle(marks, self._scene_path())
        elif self.calibrating.active and key == pygame.K_BACKSPACE:
            self.calibrating.undo()
        elif (
            self.calibrating.active
            and event.type == pygame.MOUSEBUTTONDOWN
            and event.button == 1
            and shown is not None
            and self._frame() is not None
        ):
            frame, box = self._frame(), shown.canvas  # the picture's place, its aspect kept
            at = (event.pos[0] - box.x, event.pos[1] - box.y)
            self.calibrating.click(at, (box.w, box.h), (frame.width, frame.height), frame.mirrored)
        else:
            return False
        return True

    def _draw_floor(self, surface: Any, box: Any) -> None:
        self.floor_view.draw(surface, self._frame(), self._room(), rect=box.as_tuple())

    def _draw_qr(self, surface: Any, box: Any) -> None:
        side = min(box.w, box.h)
        if side > 0:
            draw_qr(surface.subsurface((box.x, box.y, side, side)), self._qr(), margin=4)
