"""The stage's backdrop: what the window shows under the plugins' layers.

The display asks a ``backdrop(frame) -> pygame.Surface | None`` callable for every picture it
composites; None means black. :class:`LiveBackdrop`, the default, is the live camera image when
privacy allows it and black otherwise (a replay has no image: black). Whoever owns what the
room may show (the empty-room plate under privacy) hands the display another callable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from posestage.model.frames import PoseFrame

__all__ = ["Backdrop", "LiveBackdrop"]

#: What the display is given: the frame about to be shown → a surface of its size, or None.
Backdrop = Callable[[PoseFrame], Any]


class LiveBackdrop:
    """The live image of ``frame`` as a surface, unless ``private()`` says no camera pixel may
    be shown (then None: black). One surface per frame, made once however often it is shown."""

    def __init__(self, private: Callable[[], bool]) -> None:
        self._private = private
        self._frame: PoseFrame | None = None
        self._surface: Any = None

    def __call__(self, frame: PoseFrame) -> Any:
        if frame is None or frame.image is None or self._private():
            return None
        if frame is not self._frame:
            import pygame

            pixels = np.ascontiguousarray(frame.image)
            self._surface = pygame.image.frombuffer(pixels, (frame.width, frame.height), "RGB")
            self._frame = frame
        return self._surface
