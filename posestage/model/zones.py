"""Zones of the room's floor, as plugins see them each frame: :class:`ZoneCount`, :class:`ZoneEvent`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ZoneCount", "ZoneEvent"]


@dataclass(frozen=True, slots=True)
class ZoneCount:
    """One named zone (``[room.zones]``) in one frame.

    ``people``: ids of the people in it now (ordered by slot; someone held through a dropout
    counts where they were last seen); ``dwell``: seconds each of them has been in it, same
    order; ``visits``: how many times someone came in since the stage started.
    """

    name: str
    people: tuple[int, ...] = ()
    dwell: tuple[float, ...] = ()
    visits: int = 0

    @property
    def count(self) -> int:
        """How many people are in the zone now (its occupancy)."""
        return len(self.people)


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    """Someone came into a zone (``kind="enter"``) or went out of it (``"leave"``: out of
    the polygon, or out of the stage) this frame. ``dwell``: seconds they spent in it (0 on
    enter). ``id`` and ``slot`` are the person's."""

    kind: str
    zone: str
    id: int
    slot: int
    dwell: float = 0.0
