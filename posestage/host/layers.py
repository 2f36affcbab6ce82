"""Layers: each plugin draws on a surface of its own, double-buffered.

A plugin's ``posestage_draw`` runs on its lane and gets a transparent surface the size of the
frame (:meth:`Layer.canvas`): the back buffer. When the draw returned, the back buffer becomes
the front one (:meth:`Layer.swap`). The main thread composites the front buffers in scene order
over the stage's backdrop (:meth:`Layer.blit_onto`), so a slow draw shows its last finished
layer, the window never waits for it, and no plugin ever reads another's pixels (or the camera
image) off its canvas: it sees only what it drew itself.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Layer"]


class Layer:
    """One plugin's two surfaces: the back one it draws on (its lane only), the front one the
    main thread composites (under the layer's lock, which the swap takes too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._front: Any = None
        self._back: Any = None
        self.frame_index: int | None = None  #: the frame the front buffer was drawn for
        self.animate = False  #: its last draw returned True (draw again on the next tick)
        self.draws = 0  #: finished draws

    def canvas(self, size: tuple[int, int]) -> Any:
        """The back buffer, ``size`` pixels, cleared to transparent (the lane's thread)."""
        import pygame

        size = (max(int(size[0]), 1), max(int(size[1]), 1))
        back = self._back
        if back is None or back.get_size() != size:
            back = self._back = pygame.Surface(size, pygame.SRCALPHA)
        back.fill((0, 0, 0, 0))
        return back

    def swap(self, frame_index: int | None, animate: bool) -> None:
        """The draw on the back buffer finished: it becomes the one shown."""
        with self._lock:
            self._front, self._back = self._back, self._front
            self.frame_index = frame_index
            self.animate = animate
            self.draws += 1

    def blit_onto(self, target: Any) -> bool:
        """Composite the front buffer onto ``target`` (the main thread); False if none yet."""
        with self._lock:
            front = self._front
            if front is None or not hasattr(target, "blit"):
                return False
            target.blit(front, (0, 0))
            return True
