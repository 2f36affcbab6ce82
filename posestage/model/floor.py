"""Where a person stands on the room's floor: :class:`FloorPosition`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FloorPosition"]


@dataclass(frozen=True, slots=True)
class FloorPosition:
    """A point on the floor plane, in metres, in the room's own frame.

    ``x`` and ``y`` are metres on the floor (the axes the calibration's floor points were
    written in); ``score`` 0..1 says how sure the position is (lower when it was guessed from
    the hips because the feet were hidden); ``basis`` says what it came from: ``"feet"`` (the
    point between the ankles) or ``"hips"`` (from the hips and body proportions).
    """

    x: float
    y: float
    score: float = 1.0
    basis: str = "feet"
