"""The empty room: the stage's plate of the room without people, and the display's backdrop.

Privacy mode never hands a plugin a camera pixel. A scene that wants the room behind its
drawings (a plugin's ``posestage_privacy()`` answered ``"room"``: the anonymizer) gets it from
the stage:

- :class:`EmptyRoom` is shown every frame by the **pose thread**, after tracking and *before any
  plugin runs*: the camera image (mirrored as plugins would see it) and how many people the
  tracker follows — those in a dropout grace count as present. Once nobody has been in view
  for ``wait`` seconds of *frame time* (the media's own time for a video or replay, else the
  capture time: a replay or a test is deterministic), that frame is copied — in memory only, immutable — as the **plate**. It is
  forgotten on recapture (the R key, the ``recapture`` control message), on a new image size or
  mirror, when no plugin wants the room any more, and under strict privacy (``[stage] privacy
  = true``: no camera pixel anywhere, not even the window). Nothing a plugin does can change
  what the room decides: it sees the tracker's people, not a plugin's frame.
- :class:`Backdrop` is what the display draws *under* the plugins' drawings
  (``backdrop(frame) -> pygame.Surface | None``): the live image when the stage is not
  private, else the plate (or, until there is one, a waiting message over black) when the room
  is wanted, else None (black). The plugins' canvas never holds it.

Where the plate may go beyond the window is the scene's ``[stage] room_pixels``
(:data:`ROOM_PIXELS`), read when the stage starts and never changed live: ``"window"`` (the
default) or ``"plugins"`` (also ``stage.room`` in the plugins' context, e.g. footfall's PNG).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["NO_IMAGE", "ROOM_PIXELS", "TOLERANCE", "WAITING", "Backdrop", "EmptyRoom"]

#: Slack on the wait (s): frame times near 1.7e9 s carry rounding of a few 1e-7 s.
TOLERANCE = 1e-4
#: Where the room's camera pixels may go (``[stage] room_pixels``): the window only, or the
#: plugins too (which may write them to files).
ROOM_PIXELS = ("window", "plugins")
#: Shown over black while the room is wanted and there is no plate yet.
WAITING = "Waiting for everyone to leave the frame…"
#: Shown over black while the room is wanted and there are no pixels to take it from.
NO_IMAGE = "No camera image (strict privacy or a replay): skeletons only"


def _frozen(image: np.ndarray) -> np.ndarray:
    """A private, immutable copy: no holder can make it writeable again."""
    data = np.ascontiguousarray(image, dtype=np.uint8)
    return np.frombuffer(data.tobytes(), dtype=np.uint8).reshape(data.shape)


class EmptyRoom:
    """Decides that the room is empty and keeps its plate. ``wait``: seconds of frame time
    with nobody in view. Fed by the pose thread (:meth:`see`), read by the main thread
    (:attr:`plate`); :meth:`recapture` from any thread."""

    def __init__(self, wait: float = 2.0) -> None:
        self.wait = float(wait)
        self.wanted = False  #: a plugin asked for the room (even if strict privacy forbids it)
        self.pixels = False  #: the last frame seen had pixels the room could be taken from
        self.version = 0  #: changes whenever the plate is taken or forgotten
        self._plate: np.ndarray | None = None
        self._mirrored = False
        self._empty_since: float | None = None
        self._locked_at: float | None = None
        self._lock = threading.Lock()

    @property
    def plate(self) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB, read-only, once the room was empty long enough; else None."""
        return self._plate

    @property
    def locked_at(self) -> float | None:
        """Frame time of the frame that became the plate."""
        return self._locked_at

    def recapture(self) -> None:
        """Forget the plate and wait for an empty stretch again (someone moved a chair)."""
        with self._lock:
            self._forget()

    def see(
        self,
        image: np.ndarray | None,
        people: int,
        timestamp: float,
        *,
        mirrored: bool = False,
        wanted: bool = True,
        allowed: bool = True,
    ) -> bool:
        """One frame (pose thread, before dispatch): its ``image`` as plugins would see it
        (mirrored already), how many ``people`` the tracker follows (dropouts included), its
        frame time. ``wanted``: a plugin asked for the room; ``allowed``: not strict privacy.
        True when this frame has just become the plate."""
        with self._lock:
            self.wanted = bool(wanted)
            self.pixels = image is not None and allowed
            if not (wanted and allowed) or image is None:
                self._forget()  # nothing of the camera kept when it is not wanted or allowed
                return False
            plate = self._plate
            if plate is not None:
                if image.shape == plate.shape and bool(mirrored) == self._mirrored:
                    return False
                self._forget()  # another size, or the mirror switched: it no longer fits
            if people:
                self._empty_since = None
                return False
            now = float(timestamp)
            if self._empty_since is None or now < self._empty_since:  # a looping replay
                self._empty_since = now
            if now - self._empty_since < self.wait - TOLERANCE:
                return False
            self._plate = _frozen(image)
            self._locked_at = now
            self._mirrored = bool(mirrored)
            self.version += 1
            return True

    def waited(self, timestamp: float) -> float:
        """Seconds of frame time nobody has been in view as of ``timestamp`` (0 if someone is)."""
        since = self._empty_since
        return 0.0 if since is None else max(0.0, float(timestamp) - since)

    def _forget(self) -> None:
        if self._plate is not None:
            self.version += 1
        self._plate = None
        self._empty_since = None
        self._locked_at = None


class Backdrop:
    """What the display draws under the plugins' drawings: ``backdrop(frame)`` (main thread).

    ``private()`` tells whether the stage is in privacy mode now. Not private: the frame's
    live image (None without one). Private: the ``room``'s plate when a plugin wants the
    room, black until there is one — :attr:`notice` then says why (:data:`WAITING` or
    :data:`NO_IMAGE`; the window shows it in its log strip, never across the performers);
    otherwise None (black). Surfaces are kept between calls while nothing changed."""

    def __init__(self, room: EmptyRoom, private: Any) -> None:
        self.room = room
        self.private = private
        #: why the picture is black while the room is wanted (None: nothing to say)
        self.notice: str | None = None
        self._live: tuple[Any, Any] = (None, None)  # (frame, surface)
        self._shown: tuple[Any, Any] = (None, None)  # (key, surface)

    def __call__(self, frame: Any) -> Any:
        import pygame

        self.notice = None
        if not self.private():
            self._shown = (None, None)
            image = getattr(frame, "image", None)
            if image is None:
                return None
            if self._live[0] is not frame:
                size = (int(frame.width), int(frame.height))
                pixels = np.ascontiguousarray(image)
                self._live = (frame, pygame.image.frombuffer(pixels, size, "RGB"))
            return self._live[1]
        self._live = (None, None)
        room = self.room
        if not room.wanted:
            self._shown = (None, None)
            return None
        size = (int(frame.width), int(frame.height))
        plate = room.plate
        if plate is None:
            self.notice = WAITING if room.pixels else NO_IMAGE
        key = (room.version, id(plate), size, room.pixels)
        if self._shown[0] == key:
            return self._shown[1]
        if plate is not None:
            h, w = plate.shape[:2]
            surface = pygame.image.frombuffer(plate.tobytes(), (w, h), "RGB")
            if (w, h) != size:
                surface = pygame.transform.smoothscale(surface, size)
        else:
            surface = pygame.Surface(size)
            surface.fill((0, 0, 0))
        self._shown = (key, surface)
        return surface
