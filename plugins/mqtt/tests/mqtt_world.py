"""A known room for the several-cameras tests: a floor 12 m × 6 m, three pinhole cameras
(:class:`posestage.testing.RoomCamera`) along one wall whose views overlap, and walkers whose
floor position is a known function of time.

At 2 m from the wall camera ``a`` sees x in about -0.1–5.3 m, ``b`` 3.8–9.2 m, ``c``
7.7–13.1 m (wider further back). A walker is *seen* by a camera when all 17 of their keypoints
fall inside its 640 × 480 image.
"""

from __future__ import annotations

import math

import numpy as np

from posestage.testing import RoomCamera

SIZE = (640, 480)
CENTRES = {"a": 2.6, "b": 6.5, "c": 10.4}


def camera(name: str) -> RoomCamera:
    cx = CENTRES[name]
    return RoomCamera(*SIZE, position=(cx, -2.5, 3.0), target=(cx, 3.0, 0.0), focal=520.0)


def calibration(name: str) -> dict:
    """Camera ``name``'s ``[room]`` table: four floor points around its view's middle, their
    image points measured with half a pixel of noise."""
    cx = CENTRES[name]
    floor = ((cx - 1.5, 1.5), (cx + 1.5, 1.5), (cx + 1.5, 4.5), (cx - 1.5, 4.5))
    return camera(name).room(floor, error=0.5, seed=ord(name))


def inside(xy: np.ndarray) -> bool:
    return bool((xy[:, 0] >= 0).all() and (xy[:, 0] < SIZE[0]).all()
                and (xy[:, 1] >= 0).all() and (xy[:, 1] < SIZE[1]).all())  # fmt: skip


def _bounce(t: float, start: float, low: float, high: float, speed: float) -> float:
    """Back and forth between ``low`` and ``high`` at ``speed`` m/s, from ``start``."""
    span = high - low
    d = (start - low + speed * t) % (2 * span)
    return low + (d if d <= span else 2 * span - d)


#: name → position (x, y) in metres at world time t (seconds since the start).
WALKERS = {
    # from camera a's view through b's and back: hand-overs a → b → a (overlap 3.8–5.3 m)
    "ann": lambda t: (_bounce(t, 1.0, 1.0, 8.6, 1.1), 2.0),
    # the other way, further back in the room
    "bob": lambda t: (_bounce(t, 8.4, 1.2, 8.4, 0.9), 4.2),
    # only camera c sees her: she leaves the show when c dies
    "cid": lambda t: (_bounce(t, 11.0, 10.6, 12.4, 0.6), 3.0 + 0.6 * math.sin(t / 2)),
}


def truth(t: float) -> dict[str, tuple[float, float]]:
    return {name: walk(t) for name, walk in WALKERS.items()}
