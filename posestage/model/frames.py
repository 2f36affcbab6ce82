"""What plugins get for each processed frame: :class:`PoseFrame`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posestage.model.frozen import frozen_array
from posestage.model.people import Person
from posestage.model.zones import ZoneCount, ZoneEvent

__all__ = ["PoseFrame"]


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """Everything plugins get about one processed frame.

    - ``index``: frame number since the stage started (0, 1, 2…; gaps mean frames were dropped
      because newer ones were ready — the newest frame always wins).
    - ``timestamp``: wall-clock capture time in this run (seconds since the epoch; use it for
      OSC time tags): when the frame was read on this machine, for every source — a video or
      replay read at ``fast`` pace too (the tracker steps by the media's own times).
    - ``captured``: capture time on ``time.perf_counter()`` in this run, for latency arithmetic.
    - ``recorded``: for a replayed frame, the wall-clock time it was recorded at; None for
      live sources (camera, video, stills).
    - ``width``, ``height``: source image size in pixels.
    - ``people``: a tuple of tracked :class:`Person` objects, ordered by slot.
    - ``fps``: frames dispatched per second (smoothed); ``inference_ms`` engine time for this
      frame; ``latency_ms``: capture → dispatch to ``posestage_frame``.
    - ``image``: the camera image (H, W, 3) uint8 RGB, read-only (a copy of its own that cannot
      be made writeable). In privacy mode it is ``None`` for every plugin, the one that asked
      for privacy included (the empty room is the stage's), and the window never shows a live
      frame.
    - ``source``: a short description of where frames come from.
    - ``media``: for a video or replay, the frame's time on the media's own clock in this run
      (steps as recorded, at any pace: the tracker's clock, and what the recorder writes);
      None for cameras and stills, whose clock is ``timestamp``. ``frame.clock`` is the one
      or the other: use it for what steps with the content (dwell times, fades, velocities).
    - ``mirrored``: True when image and coordinates were mirrored (``[stage] mirror``; by
      default cameras are, files are not).
    - ``zones``: the scene's zones (``[room.zones]``) this frame, a :class:`ZoneCount` each
      (who is in, for how long, visits so far), in the scene's order; ``zone_events``: who
      came into or went out of which zone this frame (:class:`ZoneEvent`).

    A frame is immutable, and so is everything in it: its fields cannot be set, ``people`` is a
    tuple of frozen :class:`Person` objects with read-only arrays, ``image`` is read-only. A
    plugin cannot change what the stage or another plugin sees; to hand on a changed frame make
    a copy (``dataclasses.replace(frame, people=...)``). Built from a list of people or a
    writeable image, the frame keeps a tuple and a read-only copy.
    """

    index: int
    timestamp: float
    captured: float
    width: int
    height: int
    people: tuple[Person, ...] = ()
    fps: float = 0.0
    inference_ms: float = 0.0
    latency_ms: float = 0.0
    image: np.ndarray | None = None
    source: str = ""
    mirrored: bool = False
    recorded: float | None = None
    zones: tuple[ZoneCount, ...] = ()
    zone_events: tuple[ZoneEvent, ...] = ()
    media: float | None = None

    def __post_init__(self) -> None:  # frozen: set once, here, and never again
        object.__setattr__(self, "people", tuple(self.people))
        object.__setattr__(self, "zones", tuple(self.zones))
        object.__setattr__(self, "zone_events", tuple(self.zone_events))
        if self.image is not None:
            object.__setattr__(self, "image", frozen_array(self.image))

    def zone(self, name: str) -> ZoneCount | None:
        """The zone called ``name`` this frame, or None (no such zone in the scene)."""
        for z in self.zones:
            if z.name == name:
                return z
        return None

    @property
    def clock(self) -> float:
        """The frame's time for what steps with the content (dwell times, fades, snapshots
        every N minutes, velocities): ``media`` for a video or replay — the same at any pace,
        so a replay gives the same result — else the capture ``timestamp``."""
        return self.timestamp if self.media is None else self.media

    def person(self, slot: int) -> Person | None:
        """The person holding ``slot``, or None."""
        for p in self.people:
            if p.slot == slot:
                return p
        return None
