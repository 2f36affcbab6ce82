"""The frame's edge: who walks out of the picture, and who comes back where they left.

A person last seen touching the image's edge (``edge_margin`` of its width or height) while
moving out (:data:`EDGE_SPEED`) is leaving through it: the tracker lets them go after
:data:`EDGE_SECONDS` unseen rather than the whole grace, so their slot is free at once, and
keeps an :class:`Exit` for the grace. A new pose within the grace near that exit (on the same
edge, :data:`RETURN_REACH` image heights from where they left; on a calibrated floor within a
walk's reach of where they stood) is them coming back (:func:`find_return`).
"""

from __future__ import annotations

import numpy as np

from posestage.tracking.floor import FLOOR_SLACK

__all__ = ["EDGE_SECONDS", "EDGE_SPEED", "RETURN_REACH", "Exit", "edge_direction", "find_return"]

#: Someone leaving through the frame's edge is gone after this many seconds unseen.
EDGE_SECONDS = 0.2
#: Moving out at no less than this many image heights per second counts as leaving.
EDGE_SPEED = 0.05
#: Coming back within this many image heights of where they left (uncalibrated) is a return.
RETURN_REACH = 0.35


def edge_direction(
    xy: np.ndarray, conf: np.ndarray, width: int, height: int, margin: float
) -> np.ndarray:
    """Outward unit direction (x, y) of the image edges the confident keypoints touch, else 0:
    (2,) for one pose's (17, 2) keypoints, (D, 2) for (D, 17, 2)."""
    one = xy.ndim == 2
    xy, conf = xy.reshape(-1, xy.shape[-2], 2), conf.reshape(-1, conf.shape[-1])
    use = (conf | ~conf.any(axis=1, keepdims=True))[..., None]  # none confident: all 17
    lo = np.where(use, xy, np.inf).min(axis=1)
    hi = np.where(use, xy, -np.inf).max(axis=1)
    limit = np.array([width - 1, height - 1], dtype=np.float64)
    room = margin * np.array([width, height], dtype=np.float64)
    out = (hi >= limit - room).astype(np.float64) - (lo <= room)
    norm = np.hypot(out[:, 0], out[:, 1])[:, None]
    out = np.divide(out, norm, out=out, where=norm > 0)
    return out[0] if one else out


class Exit:
    """Someone who left through the frame's edge, remembered for the grace: id, slot, when
    first seen and last seen, where (image centre, outward edge, floor point or None)."""

    __slots__ = ("id", "slot", "first_seen", "time", "center", "edge", "floor")

    def __init__(self, id, slot, first_seen, time, center, edge, floor) -> None:
        self.id, self.slot, self.first_seen, self.time = id, slot, first_seen, time
        self.center, self.edge, self.floor = center, edge, floor


def find_return(
    exits: list[Exit], xy, conf, floor_xy, timestamp: float, size: tuple[int, int], settings
) -> Exit | None:
    """The exit this new pose comes back from (removed from ``exits``), or None."""
    width, height = size
    edge = edge_direction(xy, conf, width, height, settings.edge_margin)
    center = (xy[conf] if conf.any() else xy).mean(axis=0)
    best, best_d = None, np.inf
    for e in exits:
        if e.floor is not None and floor_xy is not None:
            d = float(np.hypot(*(floor_xy - e.floor)))
            ok = d <= FLOOR_SLACK + settings.max_speed * (timestamp - e.time)
        else:
            d = float(np.hypot(*(center - e.center)))
            ok = d <= RETURN_REACH * height and float(edge @ e.edge) > 0.5
        if ok and d < best_d:
            best, best_d = e, d
    if best is not None:
        exits.remove(best)
    return best
